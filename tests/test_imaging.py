"""Uploaded images are sized from their header before anything is decoded (camwatch.imaging).

Real files built here: a 16000x16000 deflate TIFF, a 20000x15000 baseline JPEG with an extra
0xFF fill byte before its frame header, a progressive JPEG, a PNG of zeros, a WebP and an RLE
BMP announcing far more pixels than camwatch decodes. Each is posted to the live web app's
face upload in a process of its own, whose peak memory must not grow; ordinary photos in
every accepted format still decode.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from camwatch.imaging import MAX_PIXELS, ImageRefused, decode_untrusted, read_header
from tests.conftest import MEDIA, MODELS, ROOT, require

pytestmark = pytest.mark.one_worker  # the bombs (a 16000x16000 deflate among them) are built once for the file

ZERO_ROWS = 256  # rows of zeros compressed at a time (a few MB, never the whole picture)


def _zeros_deflated(row_bytes: int, rows: int, row_prefix: bytes = b"") -> bytes:
    compressor = zlib.compressobj(9)
    block = (row_prefix + bytes(row_bytes)) * ZERO_ROWS
    out, done = [], 0
    while done < rows:
        count = min(ZERO_ROWS, rows - done)
        out.append(compressor.compress(block[: count * (len(row_prefix) + row_bytes)]))
        done += count
    out.append(compressor.flush())
    return b"".join(out)


def deflate_tiff(width: int, height: int) -> bytes:
    """An 8-bit grey TIFF, one deflate strip of zeros."""
    strip = _zeros_deflated(width, height)
    strip += b"\0" * (len(strip) % 2)  # the directory starts on a word boundary
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 8),
            (277, 3, 1), (278, 4, height), (279, 4, len(strip))]
    directory = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", t, kind, 1, v) for t, kind, v in tags)
    return b"II*\0" + struct.pack("<I", 8 + len(strip)) + strip + directory + struct.pack("<I", 0)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zeros_png(width: int, height: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    pixels = _zeros_deflated(width, height, row_prefix=b"\0")
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def _jpeg_with_size(width: int, height: int, progressive: bool, fill_byte: bool) -> bytes:
    """A real small JPEG whose frame header then says ``width`` x ``height``."""
    params = [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)]
    ok, encoded = cv2.imencode(".jpg", np.full((64, 64, 3), 120, np.uint8), params)
    assert ok
    data = bytearray(encoded.tobytes())
    pos = 2
    while data[pos + 1] not in (0xC0, 0xC2):  # walk the segments to the start of frame
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
    if fill_byte:
        data[pos:pos] = b"\xff"  # JPEG allows any number of 0xFF before a marker
    return bytes(data)


def vp8l_webp(width: int, height: int) -> bytes:
    """A lossless WebP header for ``width`` x ``height`` (the bitstream after it is short)."""
    bits = (width - 1) | (height - 1) << 14
    payload = b"\x2f" + struct.pack("<I", bits) + bytes(11)
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def rle_bmp(width: int, height: int) -> bytes:
    """An 8-bit RLE BMP that ends at once (the rest of the picture is left to the decoder)."""
    palette = b"".join(bytes((i, i, i, 0)) for i in range(256))
    pixels = b"\x00\x01"  # end of bitmap
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels


BOMBS: dict[str, tuple[Callable[[], bytes], tuple[str, int, int]]] = {
    "deflate.tiff": (lambda: deflate_tiff(16000, 16000), ("TIFF", 16000, 16000)),
    "fill-byte.jpg": (lambda: _jpeg_with_size(20000, 15000, False, True), ("JPEG", 20000, 15000)),
    "progressive.jpg": (lambda: _jpeg_with_size(12000, 12000, True, False), ("JPEG", 12000, 12000)),
    "zeros.png": (lambda: zeros_png(12000, 12000), ("PNG", 12000, 12000)),
    "lossless.webp": (lambda: vp8l_webp(16000, 16000), ("WEBP", 16000, 16000)),
    "rle.bmp": (lambda: rle_bmp(12000, 12000), ("BMP", 12000, 12000)),
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for name, (build, _) in BOMBS.items():
        paths[name] = folder / name
        paths[name].write_bytes(build())
        assert paths[name].stat().st_size < 1 << 20  # small files, huge pictures
    return paths


@pytest.mark.parametrize("name", list(BOMBS))
def test_the_header_gives_the_size_without_decoding(bombs: dict[str, Path], name: str) -> None:
    expected = BOMBS[name][1]
    if expected[1] * expected[2] <= Image.MAX_IMAGE_PIXELS * 2:  # beyond, Pillow refuses by itself
        header = read_header(bombs[name].read_bytes())
        assert (header.format, header.width, header.height) == expected
        assert header.progressive == (name == "progressive.jpg")
    else:
        with pytest.raises(ImageRefused, match="too large"):
            read_header(bombs[name].read_bytes())
    with pytest.raises(ImageRefused, match="too large"):
        decode_untrusted(bombs[name].read_bytes(), 2048)


def test_ordinary_photos_of_every_format_decode() -> None:
    photo = cv2.imread(str(MEDIA / "grace_hopper.bmp"))
    require(photo is not None, f"{MEDIA / 'grace_hopper.bmp'}")
    big = cv2.resize(photo, (3000, 3600))
    shrunk = cv2.resize(big, (1707, 2048))
    encoded = {}
    for ext, params in ((".jpg", []), (".jpg", [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]), (".png", []), (".bmp", []),
                        (".tiff", [])):
        ok, data = cv2.imencode(ext, big, params)
        assert ok
        encoded[f"{ext} {params}"] = data.tobytes()
    # A lossless WebP, as OpenCV writes one by default, at libwebp's fastest effort (OpenCV's
    # takes 5 s for these 11 MP)
    webp = BytesIO()
    Image.fromarray(cv2.cvtColor(big, cv2.COLOR_BGR2RGB)).save(webp, format="WEBP", lossless=True, quality=0, method=0)
    encoded[".webp lossless"] = webp.getvalue()
    assert encoded[".webp lossless"][12:16] == b"VP8L"
    for name, data in encoded.items():
        image = decode_untrusted(data, 2048)
        assert image.shape == (2048, 1707, 3), name
        assert abs(int(image[1024, 853, 2]) - int(shrunk[1024, 853, 2])) < 12, name
    with pytest.raises(ImageRefused, match="not a readable image"):
        decode_untrusted(b"GIF89a" + bytes(100), 2048)
    with pytest.raises(ImageRefused, match="not a readable image"):
        decode_untrusted(b"\xff\xd8\xff\xe0 truncated", 2048)
    assert MAX_PIXELS < 12000 * 12000


# Runs in its own process, so that its peak memory is its own: the live app (real BlazeFace),
# a real photo enrolled first (everything loaded), then every file posted.
_UPLOADER = """
import json, resource, sys
from pathlib import Path
import cv2
from camwatch.faces.enrol import FaceFinder
from camwatch.faces.gallery import FaceGallery
from camwatch.web import create_app
from tests.support.web import make_context, setup_and_login

root, models, photo, *files = sys.argv[1:]
ctx = make_context(Path(root))
ctx.faces_gallery = FaceGallery(ctx.data_dir)
ctx.faces_finder = FaceFinder([Path(models) / "face_detection_short_range.tflite",
                               Path(models) / "face_detection_full_range.tflite"])
client = create_app(ctx).test_client()
headers = {"X-CSRF-Token": setup_and_login(client)}

def post(name, data):
    from io import BytesIO
    r = client.post("/api/faces/Grace", data={"file": (BytesIO(data), name)}, headers=headers,
                    content_type="multipart/form-data")
    return r.status_code, r.get_json().get("error")

ok, jpeg = cv2.imencode(".jpg", cv2.imread(photo))
first = post("grace.jpg", jpeg.tobytes())
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
answers = {"first": first, "baseline": peak(), "files": {}}
for path in files:
    answers["files"][Path(path).name] = (*post(Path(path).name, Path(path).read_bytes()), peak())
print(json.dumps(answers))
"""


def test_the_live_upload_refuses_them_before_memory_grows(bombs: dict[str, Path], tmp_path: Path) -> None:
    require((MODELS / "face_detection_short_range.tflite").is_file(), "BlazeFace models in shared/models")
    result = subprocess.run(
        [sys.executable, "-c", _UPLOADER, str(tmp_path), str(MODELS), str(MEDIA / "grace_hopper.bmp"),
         *map(str, bombs.values())],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["first"][0] == 201, answers
    baseline = answers["baseline"]
    for name, (status, error, peak) in answers["files"].items():
        assert status == 400 and "too large" in error, (name, status, error)
        assert peak - baseline < 64 << 20, f"{name}: peak memory grew by {(peak - baseline) >> 20} MB"
