"""Service build contexts: which template files make each one, and a hash of their content.
The hash labels the image, so an image is rebuilt only when its context changed. Reads only
templates."""
import hashlib
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SERVICE_TEMPLATES = TEMPLATES / "services"
LOGGING_HELPER = TEMPLATES / "decnet_logging.py"
# Modules every build context gets a copy of: the logging helper, the TCP scaffolding, the
# NTLM helpers (smb, rdp) and the TLS certificate helper (https, rdp).
SHARED_MODULES = (LOGGING_HELPER, TEMPLATES / "decnet_tcp.py", TEMPLATES / "decnet_ntlm.py",
                  TEMPLATES / "decnet_tls.py")
HASH_LABEL = "decnet.context-hash"


def context_files(context: str) -> dict[Path, Path]:
    """Relative path in the build context -> the template file it comes from."""
    source = SERVICE_TEMPLATES / context
    files = {p.relative_to(source): p for p in source.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts}
    files.update({Path(m.name): m for m in SHARED_MODULES})
    return files


def context_hash(context: str) -> str:
    digest = hashlib.sha256()
    for rel, src in sorted(context_files(context).items()):
        digest.update(f"{rel}\0{len(src.read_bytes())}\0".encode())
        digest.update(src.read_bytes())
    return digest.hexdigest()[:16]
