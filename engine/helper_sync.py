"""The seed's `_sync_logging_helper`: stage every service build context with the shared
logging helper (and the shared TCP scaffolding), copying only files whose content differs,
so Docker's build cache holds."""
import shutil
from pathlib import Path

from generators.contexts import context_files


def _copy_if_different(src: Path, dst: Path) -> bool:
    if dst.exists() and dst.read_bytes() == src.read_bytes():
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return True


def sync_build_contexts(services: list[str], build_root: Path) -> list[Path]:
    """Mirror templates/services/<svc>/ plus the shared modules into build_root/<svc>/."""
    changed = []
    for service in sorted(set(services)):
        target = build_root / service
        wanted = context_files(service)
        for rel, src in sorted(wanted.items()):
            if _copy_if_different(src, target / rel):
                changed.append(target / rel)
        for stale in [p for p in target.rglob("*") if p.is_file() and p.relative_to(target) not in wanted]:
            stale.unlink()
            changed.append(stale)
    return changed
