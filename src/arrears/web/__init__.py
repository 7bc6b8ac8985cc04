"""The web app: app factory, JSON API, server-rendered pages, i18n."""
