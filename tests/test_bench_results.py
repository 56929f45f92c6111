"""bench/_common.write_section: the benchmark scripts share one results file per day, and
notes written by hand into it survive every rerun."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "bench" / "_common.py"


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("cuph_bench_common", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(text):
    return [line for line in text.splitlines() if line.startswith("<!-- ")]


def test_new_file_gets_title_machine_and_section(common, tmp_path):
    path = tmp_path / "cpu-2026-01-02.md"
    common.write_section(path, "ratios", "| a |\n", {"cpu": "X"})
    text = path.read_text()
    assert text.startswith("# cuph CPU benchmarks, 2026-01-02\n")
    assert sections(text) == ["<!-- begin:machine -->", "<!-- end:machine -->",
                              "<!-- begin:ratios -->", "<!-- end:ratios -->"]
    assert "- cpu: X\n" in text and "| a |\n" in text


def test_rerun_replaces_in_place_and_keeps_notes(common, tmp_path):
    path = tmp_path / "cpu-2026-01-02.md"
    common.write_section(path, "ratios", "old ratios\n", {"cpu": "X"})
    common.write_section(path, "memory", "old memory\n", {"cpu": "X"})
    path.write_text(path.read_text() + "\n## Notes\n\n- kept by hand\n")
    # a note between two sections, too
    text = path.read_text().replace("<!-- end:ratios -->\n", "<!-- end:ratios -->\n\nbetween\n")
    path.write_text(text)

    common.write_section(path, "ratios", "new ratios", {"cpu": "Y"})
    text = path.read_text()
    assert "old ratios" not in text and "new ratios\n" in text
    assert "old memory\n" in text
    assert "- cpu: Y\n" in text and "- cpu: X" not in text
    assert "\n## Notes\n\n- kept by hand\n" in text and "\nbetween\n" in text
    assert text.index("new ratios") < text.index("between") < text.index("old memory") \
        < text.index("kept by hand")

    # a section the file has not seen yet goes after the last one, before the notes' end
    common.write_section(path, "ratios-pinned", "pinned", {"cpu": "Y"})
    text = path.read_text()
    assert text.index("old memory") < text.index("pinned")
    assert text.count("<!-- begin:") == 4 and text.count("kept by hand") == 1
