"""Rule packs (data), the contact guard, content screening and holds — the one chokepoint for contacts."""
