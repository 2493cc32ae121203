"""The instance key, and uploads sealed with it: an upload of a kind with secret fields (agents' passwords)
rests on disk encrypted (Fernet: AES-128-CBC and HMAC-SHA256, from the `cryptography` package), never in clear
beyond the request that received it. `open_upload` reads sealed and plain uploads alike.

The key is `secret_key`, else the one kept in instance/secret_key (made on first use, 0600); the uploads' key
is derived from it with HKDF, so the key that signs sessions never encrypts anything itself.
"""

from __future__ import annotations

import base64
import io
import os
import secrets
from pathlib import Path
from typing import BinaryIO

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from plugin.settings import Settings

SECRET_KEY_FILE = Path("instance") / "secret_key"
SEALED = b"contact-importer sealed upload v1\n"  # first bytes of a sealed file


def load_secret_key(settings: Settings, *, key_file: Path = SECRET_KEY_FILE) -> str:
    """settings.secret_key, else the key kept in instance/secret_key, made on first use (0600 from its first byte)."""
    if settings.secret_key:
        return settings.secret_key
    if key_file.exists():
        return key_file.read_text(encoding="ascii").strip()
    key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return key_file.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


def _uploads_cipher(settings: Settings) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"contact-importer uploads").derive(
        load_secret_key(settings).encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal_upload(path: Path, settings: Settings) -> None:
    """Replace a file by its encryption under the instance key (written beside it, then renamed over it)."""
    sealed = SEALED + _uploads_cipher(settings).encrypt(path.read_bytes())
    temporary = path.with_name(path.name + ".sealing")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(sealed)
    os.replace(temporary, path)


def open_upload(path: Path, settings: Settings) -> BinaryIO:
    """An upload's bytes, decrypted in memory when it is sealed (uploads are at most max_file_bytes)."""
    source = path.open("rb")
    if source.read(len(SEALED)) != SEALED:
        source.seek(0)
        return source
    with source:
        return io.BytesIO(_uploads_cipher(settings).decrypt(source.read()))
