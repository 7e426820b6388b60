"""The digest chart: PNG bytes checked from the header and decoded; alt text checked as text."""

from __future__ import annotations

import io
import struct
import subprocess
import sys

import pytest

from bot.features.digest.chart import (
    MAX_ALT_TEXT,
    activity_chart,
    chart_alt_text,
)

WEEKS = [f"W{n}" for n in range(7, 15)]
SERIES = {
    "Szczecin": [10, 12, 15, 9, 20, 22, 18, 25],
    "Rostock": [5, 8, 7, 11, 9, 14, 12, 14],
    "Elbląg": [0, 1, 3, 2, 5, 4, 6, 7],
    "Rietavas": [2, 2, 0, 1, 3, 1, 2, 4],
    "Blekinge": [7, 6, 9, 8, 10, 12, 11, 13],
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def render(series=SERIES, weeks=WEEKS, title="Aktywność według lokalizacji") -> bytes:
    return activity_chart(series, weeks, title=title, ylabel="Wiadomości")


@pytest.fixture(scope="module")
def png() -> bytes:
    return render()


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], len(PNG_SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        out.append((data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def assert_valid_png(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    assert 1_000 < len(data) < 100_000
    kinds = [kind for kind, _ in chunks(data)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks(data)[0][1][:8])
    assert (width, height) == (800, 400)


def test_png_header_size_and_chunks(png):
    assert_valid_png(png)
    kinds = {kind for kind, _ in chunks(png)}
    # nothing that changes between runs or matplotlib versions
    assert b"tIME" not in kinds
    assert b"Software" not in png


def test_png_decodes(png):
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (400, 800)
    # not blank: the lines put more than white and black on the canvas
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[2])[::97].tolist()}) > 5


def test_identical_input_gives_identical_bytes(png):
    assert render() == png
    assert render(title="Other") != png


@pytest.mark.parametrize(
    ("series", "weeks"),
    [
        ({}, WEEKS),
        ({name: [0] * 8 for name in SERIES}, WEEKS),
        ({}, []),
        ({"Szczecin": [3]}, ["W14"]),
        # user text is drawn literally: no mathtext, "_" does not hide the legend entry
        ({"$x^2$ & _hidden": [1, 2, 3, 4, 5, 6, 7, 8]}, WEEKS),
    ],
    ids=["empty", "all-zero", "no-weeks", "one-week", "odd-names"],
)
def test_degenerate_input_still_gives_a_png(series, weeks):
    assert_valid_png(render(series, weeks, title="$100 _costs_"))


def test_many_locations_stay_small():
    many = {f"Location {i} Ąę": [i * w for w in range(8)] for i in range(12)}
    assert_valid_png(render(many))


def test_length_mismatch_is_rejected():
    with pytest.raises(ValueError, match="Rostock"):
        render({"Rostock": [1, 2]})
    with pytest.raises(ValueError):
        chart_alt_text({"Rostock": [1, 2]}, WEEKS, title="t")


def test_import_is_cheap_and_render_touches_no_global_state():
    code = (
        "import sys\n"
        "from bot.features.digest.chart import activity_chart\n"
        "assert 'matplotlib' not in sys.modules\n"
        "import matplotlib\n"
        # compare raw values: reading rcParams["backend"] (as Mapping.__eq__ would) resolves
        # the automatic backend by importing pyplot
        "before = matplotlib.rcParams.copy()\n"
        "activity_chart({'a': [1, 2]}, ['W1', 'W2'], title='t', ylabel='y')\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert dict.__eq__(matplotlib.rcParams, before)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_alt_text_sorted_by_total_with_first_and_last_week():
    text = chart_alt_text(SERIES, WEEKS, title="Activity per location, last 8 weeks")
    assert text == (
        "Activity per location, last 8 weeks: "
        "Szczecin 131 (W7 → W14: 10 → 25), "
        "Rostock 80 (W7 → W14: 5 → 14), "
        "Blekinge 76 (W7 → W14: 7 → 13), "
        "Elbląg 28 (W7 → W14: 0 → 7), "
        "Rietavas 15 (W7 → W14: 2 → 4)"
    )


def test_alt_text_ties_keep_mapping_order_and_edge_cases():
    tied = {"Rostock": [1, 1], "Elbląg": [2, 0], "Szczecin": [0, 3]}
    assert chart_alt_text(tied, ["W1", "W2"], title="T") == (
        "T: Szczecin 3 (W1 → W2: 0 → 3), Rostock 2 (W1 → W2: 1 → 1), "
        "Elbląg 2 (W1 → W2: 2 → 0)"
    )
    assert chart_alt_text({"Rietavas": [4]}, ["W14"], title="T") == "T: Rietavas 4 (W14: 4)"
    assert chart_alt_text({"Rietavas": []}, [], title="T") == "T: Rietavas 0"
    assert chart_alt_text({}, WEEKS, title="Nothing yet") == "Nothing yet"
    assert chart_alt_text({"Line\nbreak": [1]}, ["W1"], title="T\n") == "T: Line break 1 (W1: 1)"


def test_alt_text_is_capped():
    many = {f"Location number {i:03d}": [i] * 8 for i in range(200)}
    text = chart_alt_text(many, WEEKS, title="T")
    assert len(text) <= MAX_ALT_TEXT
    assert text.startswith("T: Location number 199 1592 (W7 → W14: 199 → 199), ")
    assert text.endswith("), …")
    long_title = chart_alt_text(SERIES, WEEKS, title="x" * 5000)
    assert len(long_title) <= MAX_ALT_TEXT and "Szczecin 131" in long_title
    huge_name = chart_alt_text({"y" * 5000: [1]}, ["W1"], title="T")
    assert len(huge_name) <= MAX_ALT_TEXT and huge_name.endswith("…")
