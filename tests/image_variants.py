"""Near-duplicates of an image for tests/cli_similar.sh (issue 26), in plain Python (no NumPy, no PIL):

    image_variants.py IN.png OUT_DIR NAME

reads an 8-bit PNG (as `simclr show` writes them) and writes OUT_DIR/NAME_flip.png (mirrored left
to right), NAME_crop.png (10% cut from every side, scaled back to the full size bilinearly),
NAME_corner.png (the top-left 90 % of each side: 10 % cut from the right and the bottom, scaled
back) and NAME_colour.png (red +24, green +8, blue -16, clipped to 0..255)."""
import os
import struct
import sys
import zlib


def read_png(path):
    """(height, width, rows of RGB bytes) of an 8-bit, non-interlaced PNG."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG" % path)
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        sys.exit("%s: only 8-bit grey/RGB(A) non-interlaced PNGs are read here" % path)
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + predictor) & 255
        previous = line
        rgb = bytearray()
        for x in range(width):
            pixel = line[x * channels:(x + 1) * channels]
            rgb += bytes(pixel[:3]) if channels >= 3 else bytes([pixel[0]] * 3)
        rows.append(rgb)
    return height, width, rows


def write_png(path, height, width, rows):
    raw = b"".join(b"\0" + bytes(row) for row in rows)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def flip(height, width, rows):
    return [b"".join(bytes(row[3 * x:3 * x + 3]) for x in reversed(range(width))) for row in rows]


def crop(height, width, rows, fraction=0.1, keep=None):
    """The centre (1 - 2 fraction) of the image, or the top-left `keep` of each side, scaled back to
    height x width bilinearly."""
    if keep is None:
        top, left = height * fraction, width * fraction
        inner_h, inner_w = height - 2 * top, width - 2 * left
    else:
        top, left, inner_h, inner_w = 0.0, 0.0, height * keep, width * keep
    out = []
    for y in range(height):
        source_y = top + (y + 0.5) * inner_h / height - 0.5
        y0 = min(max(int(source_y // 1), 0), height - 1)
        y1, wy = min(y0 + 1, height - 1), source_y - y0
        line = bytearray()
        for x in range(width):
            source_x = left + (x + 0.5) * inner_w / width - 0.5
            x0 = min(max(int(source_x // 1), 0), width - 1)
            x1, wx = min(x0 + 1, width - 1), source_x - x0
            for c in range(3):
                value = ((1 - wy) * ((1 - wx) * rows[y0][3 * x0 + c] + wx * rows[y0][3 * x1 + c]) +
                         wy * ((1 - wx) * rows[y1][3 * x0 + c] + wx * rows[y1][3 * x1 + c]))
                line.append(min(255, max(0, int(value + 0.5))))
        out.append(line)
    return out


def colour(height, width, rows, shift=(24, 8, -16)):
    return [bytes(min(255, max(0, value + shift[i % 3])) for i, value in enumerate(row)) for row in rows]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, folder, name = sys.argv[1:]
    height, width, rows = read_png(source)
    corner = lambda height, width, rows: crop(height, width, rows, keep=0.9)
    for suffix, variant in (("flip", flip), ("crop", crop), ("corner", corner), ("colour", colour)):
        write_png(os.path.join(folder, "%s_%s.png" % (name, suffix)), height, width, variant(height, width, rows))


if __name__ == "__main__":
    main()
