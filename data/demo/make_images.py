"""Regenerates data/demo/images/*.png: a 24x24 scene (red circle, blue square on a gradient) and a 2x2 jigsaw of it.

Standard library only (zlib); run from the repository root: python3 data/demo/make_images.py
"""
import struct
import zlib

S = 24


def png(path, rows):
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", S, S, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def scene():
    img = [[(40 + 4 * x, 60 + 3 * y, 90) for x in range(S)] for y in range(S)]
    for y in range(S):
        for x in range(S):
            if (x - 7) ** 2 + (y - 8) ** 2 <= 16:
                img[y][x] = (220, 30, 30)
            if 13 <= x <= 20 and 12 <= y <= 19:
                img[y][x] = (30, 40, 220)
    return img


def jigsaw(img, order):
    """Slot s of the shuffled image shows the piece whose canonical (row-major) position is order[s]."""
    h = S // 2
    out = [[None] * S for _ in range(S)]
    for s, piece in enumerate(order):
        sy, sx = divmod(s, 2)
        py, px = divmod(piece, 2)
        for y in range(h):
            for x in range(h):
                out[sy * h + y][sx * h + x] = img[py * h + y][px * h + x]
    return out


if __name__ == "__main__":
    base = scene()
    png("data/demo/images/scene-0.png", base)
    png("data/demo/images/jigsaw-0.png", jigsaw(base, [2, 0, 3, 1]))
