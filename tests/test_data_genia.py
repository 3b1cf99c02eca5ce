"""GENIA 3.02 XML reader: the raw archive with the document splits reproduces the published nested dev/test sets."""

from __future__ import annotations

from collections import Counter

import pytest

from nerprobe.data.genia import collapse_sem, read_genia_xml
from nerprobe.data.jsonl import read_jsonl
from nerprobe.errors import InputError, NerprobeError


@pytest.fixture(scope="module")
def tgz(data_dir):
    return data_dir / "genia" / "raw" / "GENIAcorpus3.02.tgz"


@pytest.mark.parametrize("split,n_sent,n_ent", [("dev", 1765, 4714), ("test", 1732, 5119)])
def test_splits_match_yhcc_nested_jsonl(data_dir, tgz, split, n_sent, n_ent):
    ours = read_genia_xml(tgz, split=split, splits_dir=data_dir / "genia" / "splits")
    theirs = read_jsonl(data_dir / "genia" / "nested_jsonl" / f"{split}.jsonlines")
    assert (len(ours), ours.n_entities()) == (n_sent, n_ent)
    assert Counter(e.label for s in ours for e in s.entities) == Counter(e.label for s in theirs for e in s.entities)
    assert [s.id for s in ours] == [s.id for s in theirs]
    # same mentions sentence by sentence (white space aside: yhcc's tokens add spaces the XML text lacks)
    for a, b in zip(ours, theirs):
        key = lambda s: Counter((s.surface(e).replace(" ", ""), e.label) for e in s.entities)  # noqa: E731
        assert key(a) == key(b), a.id


def test_whole_corpus_and_default_splits_dir(tgz):
    c = read_genia_xml(tgz)
    # 18546 <sentence>s, minus the 11 of the earlier copy of the duplicated article MEDLINE:97218353
    assert len(c) == 18535
    assert len({s.doc_id for s in c}) == 1999
    assert set(c.labels) == {"DNA", "RNA", "protein", "cell_line", "cell_type"}
    assert len(read_genia_xml(tgz, split="dev")) == 1765  # splits/ found beside raw/
    for s in c[:200]:
        assert all(s.token_span(e) is not None for e in s.entities), s.id


def test_collapse_sem():
    assert collapse_sem("G#DNA_domain_or_region") == "DNA"
    assert collapse_sem("G#DNA_N/A") == "DNA"
    assert collapse_sem("G#RNA_molecule") == "RNA"
    assert collapse_sem("G#protein_family_or_group") == "protein"
    assert collapse_sem("G#cell_line") == "cell_line" and collapse_sem("G#cell_type") == "cell_type"
    assert collapse_sem("G#other_name") is None and collapse_sem(None) is None
    assert collapse_sem("(AND G#cell_type G#cell_type)") is None
    assert collapse_sem("(AND G#cell_type G#cell_type)", "same_class") == "cell_type"
    assert collapse_sem("(AND G#cell_type G#cell_line)", "same_class") is None


def test_small_xml_nesting_and_coordination(tmp_path):
    x = tmp_path / "g.xml"
    x.write_text(
        '<?xml version="1.0"?><set><article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo>'
        '<title><sentence><cons lex="a" sem="G#other_name"><cons lex="IL-2_gene" sem="G#DNA_domain_or_region">'
        '<cons lex="IL-2" sem="G#protein_molecule">IL-2</cons> gene</cons> expression</cons> in '
        '<cons lex="(AND x y)" sem="(AND G#cell_type G#cell_type)"><cons lex="B*">B</cons> and '
        '<cons lex="T*">T</cons> <cons lex="*cell">cells</cons></cons>.</sentence></title></article></set>'
    )
    (s,) = read_genia_xml(x).sentences
    assert s.id == "MEDLINE:1-0" and s.doc_id == "MEDLINE:1"
    assert s.text == "IL-2 gene expression in B and T cells."
    assert [(s.surface(e), e.label) for e in s.entities] == [("IL-2", "protein"), ("IL-2 gene", "DNA")]
    assert [t.text for t in s.tokens][-2:] == ["cells", "."]
    (k,) = read_genia_xml(x, coordinated="same_class").sentences
    assert ("B and T cells", "cell_type") in [(k.surface(e), e.label) for e in k.entities]


def test_bad_genia_input(tmp_path, data_dir):
    x = tmp_path / "bad.xml"
    x.write_text("<set>\n<article>\n<sentence>oops</article>\n</set>\n")
    with pytest.raises(InputError, match=r"bad\.xml:3: malformed XML"):
        read_genia_xml(x)
    with pytest.raises(NerprobeError, match="unknown GENIA split"):
        read_genia_xml(x, split="valid")
    with pytest.raises(NerprobeError, match="split list"):
        read_genia_xml(data_dir / "genia" / "raw" / "GENIAcorpus3.02.tgz", split="dev", splits_dir=tmp_path)


def test_truncated_tgz_says_truncated(tmp_path):
    import io
    import tarfile

    xml = ("<set><article><articleinfo><bibliomisc>MEDLINE:1</bibliomisc></articleinfo><title><sentence>"
           + " ".join(f"w{i}x{i * 7919 % 104729}" for i in range(60_000)) + "</sentence></title></article></set>").encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("GENIAcorpus3.02.xml")
        info.size = len(xml)
        tf.addfile(info, io.BytesIO(xml))
    f = tmp_path / "GENIAcorpus3.02.tgz"
    f.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(InputError, match="truncated") as err:
        read_genia_xml(f)
    assert str(f) in str(err.value)
