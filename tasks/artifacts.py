"""Pictures in Prefect markdown artifacts. The UI cannot open s3:// or file:// links, so a picture is
embedded (a data URI) and followed by its address in the store, for those who want the file."""

import base64

from ecg_core.store import Store


def embedded_image(alt: str, data: bytes, link: str, mime: str = "image/png") -> str:
    return f"![{alt}](data:{mime};base64,{base64.b64encode(data).decode()})\n\n[{alt}: `{link}`]({link})"


def stored_image(store: Store, key: str, alt: str) -> str:
    mime = "image/jpeg" if key.endswith((".jpg", ".jpeg")) else "image/png"
    return embedded_image(alt, store.get_bytes(key), store.url(key), mime)
