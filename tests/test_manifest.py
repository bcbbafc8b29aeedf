import pytest

from labelers.corpus.split import open_split
from labelers.corpus.manifest import (
    Manifest,
    ManifestError,
    file_sha256,
    letters_to_words,
    read_manifest,
    read_side_file,
    words_to_letters,
    write_manifest,
    write_side_file,
)


def test_manifest_round_trip(tmp_path):
    m = Manifest("/data/audio", ["a/x.flac", "b/y z.flac", "c.wav"], [16000, 400, 123456])
    write_manifest(tmp_path / "train.tsv", m)
    back = read_manifest(tmp_path / "train.tsv")
    assert back == m
    assert back.path(1) == "/data/audio/b/y z.flac"
    assert back.utt_id(0) == "a/x"
    assert back.total_seconds() == pytest.approx((16000 + 400 + 123456) / 16000)
    # rewriting the same manifest gives the same bytes (label sets rely on its sha256)
    sha = file_sha256(tmp_path / "train.tsv")
    write_manifest(tmp_path / "again.tsv", back)
    assert file_sha256(tmp_path / "again.tsv") == sha


def test_manifest_rejects_bad_rows(tmp_path):
    (tmp_path / "bad.tsv").write_text("/root\nfile.flac\tnotanumber\n")
    with pytest.raises(ManifestError, match="bad.tsv:2"):
        read_manifest(tmp_path / "bad.tsv")
    with pytest.raises(ManifestError, match="tabs and newlines"):
        write_manifest(tmp_path / "x.tsv", Manifest("/r", ["a\tb.flac"], [1000]))


def test_side_files_and_letters(tmp_path):
    write_manifest(tmp_path / "dev.tsv", Manifest("/r", ["a.flac", "b.flac"], [800, 900]))
    words = ["HELLO WORLD", "IT'S OK"]
    write_side_file(tmp_path / "dev.wrd", words)
    write_side_file(tmp_path / "dev.ltr", [words_to_letters(w) for w in words])
    assert words_to_letters("HELLO WORLD") == "H E L L O | W O R L D |"
    sp = open_split(tmp_path, "dev")
    assert sp.words() == words
    assert [letters_to_words(x) for x in sp.letters()] == words
    write_side_file(tmp_path / "dev.phn", ["sil A"])  # one line for two rows
    with pytest.raises(ManifestError, match="1 lines, but the manifest has 2 rows"):
        sp.phones()
    with pytest.raises(FileNotFoundError, match="available: \\['dev'\\]"):
        open_split(tmp_path, "train")
    assert read_side_file(tmp_path / "dev.wrd", expected_lines=2) == words


def test_split_transcripts_in_either_unit_from_either_file(tmp_path):
    write_manifest(tmp_path / "a.tsv", Manifest("/r", ["x.flac", "y.flac"], [800, 900]))
    write_manifest(tmp_path / "b.tsv", Manifest("/r", ["x.flac", "y.flac"], [800, 900]))
    write_manifest(tmp_path / "c.tsv", Manifest("/r", ["x.flac"], [800]))
    words = ["HELLO WORLD", "IT'S OK"]
    write_side_file(tmp_path / "a.wrd", words)  # words only
    write_side_file(tmp_path / "b.ltr", [words_to_letters(w) for w in words])  # letters only
    for name in ("a", "b"):
        sp = open_split(tmp_path, name)
        assert sp.transcripts("words") == words
        assert sp.transcripts("letters") == [words_to_letters(w) for w in words]
    none = open_split(tmp_path, "c")
    assert none.transcripts() is None
    with pytest.raises(FileNotFoundError, match="split 'c' has no transcripts"):
        none.require_transcripts("letters")
    with pytest.raises(ValueError, match="'words' or 'letters'"):
        none.transcripts("phones")
