"""The model registry: each registered version is an immutable copy of its model file (`v1.json`,
`v2.json`, …) in a directory, and `registry.json` records the versions, their SHA-256 and which one
is live. Exactly one version is live at a time (R8: the strategy scores with the promoted model, and
a promotion is recorded with its time and the version it replaced).

Reading which version is live needs no model library: the nightly batch asks that first and loads
LightGBM only when a model is live.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arrears.core.clock import Clock, utc_now
from arrears.core.errors import Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from arrears.scoring.model_io import ScoringModel

MODEL_LABELS = ("LightGBM calibrated", "LightGBM raw", "Logistic baseline")


def atomic_write(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class RegistryEntry:
    version: str
    file: str
    sha256: str
    registered_at: str
    created_at: str
    target: str
    auc: float | None
    data_sha256: str | None
    note: str | None = None


class ModelRegistry:
    """Versions of one model purpose in a directory, exactly one of them live."""

    INDEX = "registry.json"

    def __init__(self, root: Path, clock: Clock = utc_now) -> None:
        self.root = root
        self.clock = clock

    # ------------------------------------------------------------------------------ internals
    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent register/promote serialise here
            try:
                index = self._read()
                yield index
                atomic_write(self.root / self.INDEX, json.dumps(index, ensure_ascii=False, indent=1))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        path = self.root / self.INDEX
        if not path.exists():
            return {"live": None, "versions": [], "history": []}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValidationFailed(f"model registry index {path} is unreadable: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
            raise ValidationFailed(f"model registry index {path} is not a registry")
        return data

    @staticmethod
    def _entry(raw: dict[str, Any]) -> RegistryEntry:
        return RegistryEntry(**{k: raw.get(k) for k in RegistryEntry.__dataclass_fields__})  # type: ignore[arg-type]

    # ------------------------------------------------------------------------------ queries
    def entries(self) -> list[RegistryEntry]:
        return [self._entry(v) for v in self._read()["versions"]]

    def live_version(self) -> str | None:
        live = self._read().get("live")
        return str(live) if live else None

    def history(self) -> list[dict[str, Any]]:
        return list(self._read().get("history", []))

    def path_of(self, version: str) -> Path:
        for e in self.entries():
            if e.version == version:
                return self.root / e.file
        raise NotFound(f"no model version {version!r} in {self.root}")

    def load(self, version: str | None = None) -> ScoringModel:
        """A registered version (default: the live one), checked against its recorded SHA-256."""
        if version is None:
            version = self.live_version()
            if version is None:
                raise NotFound(
                    f"no live model in {self.root}; promote a version first (arrears model promote)"
                )
        entry = next((e for e in self.entries() if e.version == version), None)
        if entry is None:
            raise NotFound(f"no model version {version!r} in {self.root}")
        path = self.root / entry.file
        if _sha256_file(path) != entry.sha256:
            raise ValidationFailed(f"model version {version} ({path}) has changed since it was registered")
        from arrears.scoring.model_io import load_model  # LightGBM loads only when a model is used

        return load_model(path)

    # ------------------------------------------------------------------------------ changes
    def register(self, model_path: Path, note: str | None = None) -> RegistryEntry:
        from arrears.scoring.model_io import load_model

        model = load_model(model_path)  # only valid models get in
        digest = _sha256_file(model_path)
        with self._locked() as index:
            for v in index["versions"]:
                if v["sha256"] == digest:
                    raise Conflict(f"this model is already registered as {v['version']}")
            number = 1 + max((int(str(v["version"]).lstrip("v")) for v in index["versions"]), default=0)
            name = f"v{number}"
            shutil.copyfile(model_path, self.root / f"{name}.json")
            auc = model.meta.get("metrics", {}).get(MODEL_LABELS[0], {}).get("auc")
            entry = RegistryEntry(
                version=name,
                file=f"{name}.json",
                sha256=digest,
                registered_at=self.clock().isoformat(),
                created_at=str(model.meta.get("created_at", "")),
                target=model.target,
                auc=float(auc) if auc is not None else None,
                data_sha256=model.meta.get("training", {}).get("data_sha256"),
                note=note,
            )
            index["versions"].append(asdict(entry))
            index.setdefault("history", []).append(
                {"at": entry.registered_at, "event": "register", "version": name}
            )
        return entry

    def promote(self, version: str) -> RegistryEntry:
        with self._locked() as index:
            raw = next((v for v in index["versions"] if v["version"] == version), None)
            if raw is None:
                known = ", ".join(v["version"] for v in index["versions"]) or "none"
                raise NotFound(f"no model version {version!r} in {self.root} (registered: {known})")
            entry = self._entry(raw)
            if _sha256_file(self.root / entry.file) != entry.sha256:
                raise ValidationFailed(f"model version {version} has changed since it was registered")
            previous = index.get("live")
            index["live"] = version
            index.setdefault("history", []).append(
                {"at": self.clock().isoformat(), "event": "promote", "version": version, "previous": previous}
            )
        return entry


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except FileNotFoundError:
        raise NotFound(f"model file missing from the registry: {path}") from None
    return h.hexdigest()
