#!/usr/bin/env python3
"""Draws assets/icon.png, the app's window icon: a client calling a balancer that spreads
over two services, on a rounded dark square. Standard library only (zlib for the PNG), drawn
at 4x and averaged down so that the edges are smooth."""
import math
import struct
import zlib
from pathlib import Path

SIZE = 128
SCALE = 4
BIG = SIZE * SCALE

BACKGROUND = (30, 41, 59)
LINK = (148, 163, 184)
NODES = [  # centre x, centre y, radius (of 128), colour
    (30, 64, 15, (96, 165, 250)),
    (66, 64, 13, (250, 204, 21)),
    (102, 34, 13, (74, 222, 128)),
    (102, 94, 13, (74, 222, 128)),
]
LINKS = [(0, 1), (1, 2), (1, 3)]
DOTS = [(0.5, 0), (0.55, 1), (0.4, 2)]  # requests on their way: share of the link, link


def inside_rounded_square(x, y):
    r = 26 * SCALE
    cx = min(max(x, r), BIG - r)
    cy = min(max(y, r), BIG - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def near_segment(x, y, a, b, width):
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    px, py = ax + t * dx, ay + t * dy
    return (x - px) ** 2 + (y - py) ** 2 <= width * width


def colour_at(x, y):
    if not inside_rounded_square(x, y):
        return None
    pixel = BACKGROUND
    centres = [(n[0] * SCALE, n[1] * SCALE) for n in NODES]
    for a, b in LINKS:
        if near_segment(x, y, centres[a], centres[b], 2.5 * SCALE):
            pixel = LINK
    for share, link in DOTS:
        a, b = LINKS[link]
        dx = centres[a][0] + share * (centres[b][0] - centres[a][0])
        dy = centres[a][1] + share * (centres[b][1] - centres[a][1])
        if (x - dx) ** 2 + (y - dy) ** 2 <= (5 * SCALE) ** 2:
            pixel = (241, 245, 249)
    for cx, cy, r, colour in NODES:
        d = math.hypot(x - cx * SCALE, y - cy * SCALE)
        if d <= r * SCALE:
            pixel = colour if d <= (r - 3) * SCALE else (15, 23, 42)
    return pixel


def main():
    rows = bytearray()
    for py in range(SIZE):
        rows.append(0)
        for px in range(SIZE):
            total = [0, 0, 0, 0]
            for sy in range(SCALE):
                for sx in range(SCALE):
                    c = colour_at(px * SCALE + sx + 0.5, py * SCALE + sy + 0.5)
                    if c is not None:
                        total[0] += c[0]
                        total[1] += c[1]
                        total[2] += c[2]
                        total[3] += 255
            n = SCALE * SCALE
            covered = total[3] // 255
            if covered:
                rows.extend(t // covered for t in total[:3])
            else:
                rows.extend((0, 0, 0))
            rows.append(total[3] // n)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(rows), 9))
    png += chunk(b"IEND", b"")
    out = Path(__file__).resolve().parent.parent / "assets" / "icon.png"
    out.write_bytes(png)


if __name__ == "__main__":
    main()
