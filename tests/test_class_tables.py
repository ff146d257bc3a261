"""The reviewed class -> song-keyword tables: the shipped files load, validate and say what a reviewer expects."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from graphrec.data import class_tables as ct
from graphrec.errors import InputError, UnknownKeywordError
from graphrec.text.frequency import document_frequencies, strip_stage_directions

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason="../shared/data/photos is not present")


@pytest.fixture(scope="module")
def photo_table() -> ct.ClassTable:
    return ct.load_class_table()


@pytest.fixture(scope="module")
def overrides() -> ct.ClassTable:
    return ct.load_photo_overrides()


@pytest.fixture(scope="module")
def categories() -> list[str]:
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


@pytest.fixture(scope="module")
def imagenet(categories) -> ct.ClassTable:
    return ct.load_imagenet_table(categories=categories)


# ---------------------------------------------------------------------------------------------- shipped tables


def test_photo_table_has_one_row_per_class_of_the_three_sets(photo_table):
    assert len(photo_table) == 118
    counts = {s: sum(1 for r in photo_table if r.source == s) for s in ct.PHOTO_SOURCES}
    assert counts == {"weather": 4, "caltech101": 99, "scene15": 15}


@needs_photos
def test_photo_table_rows_are_exactly_the_class_folders(photo_table, overrides):
    assert ct.check_photo_folders(photo_table, PHOTOS, overrides) == []


def test_check_photo_folders_reports_a_missing_and_an_extra_class(photo_table, tmp_path):
    for source, name in [("weather", "rain"), ("weather", "fog")]:
        (tmp_path / source / name).mkdir(parents=True)
    problems = ct.check_photo_folders(photo_table, tmp_path)
    assert "class folder weather/fog has no row in " + photo_table.path in problems
    assert any(p.startswith("row scene15/coast ") for p in problems)
    assert not any("weather/rain" in p for p in problems)


def test_imagenet_table_follows_torchvision_order_and_names(imagenet, categories):
    assert len(imagenet) == 1000
    assert [row.index for row in imagenet] == list(range(1000))
    assert [row.name for row in imagenet] == categories


@pytest.mark.parametrize(
    ("source", "name", "word"),
    [("scene15", "coast", "海"), ("weather", "rain", "雨"), ("scene15", "mountain", "山"), ("weather", "sunrise", "日")],
)
def test_photo_known_answers(photo_table, source, name, word):
    assert word in photo_table.get(source, name).keywords


@pytest.mark.parametrize("name", ["laptop", "cellphone", "stapler", "soccer_ball", "elephant"])
def test_photo_classes_without_a_classical_counterpart_stay_empty_and_say_why(photo_table, name):
    row = photo_table.get("caltech101", name)
    assert row.keywords == () and row.weights == ()
    assert row.reason


def test_generic_words_do_not_label_a_street(photo_table):
    street = photo_table.get("scene15", "street").keywords
    assert not {"日", "风", "天", "春", "人"} & set(street)


def test_imagenet_known_answers(imagenet):
    assert imagenet[978].name == "seashore" and "海" in imagenet[978].keywords
    assert imagenet[134].name == "crane bird" and "鹤" in imagenet[134].keywords
    assert imagenet[517].name == "crane" and "鹤" not in imagenet[517].keywords
    assert imagenet.get("goldfish").keywords == ("鱼",)
    assert "犬" in imagenet.get("golden retriever").keywords
    assert imagenet.get("mouse").keywords == ()  # the computer mouse, not the animal
    assert imagenet.get("laptop").keywords == ()


def test_snow_photos_filed_under_rain_are_overridden(photo_table, overrides):
    snowy = [r for r in overrides if r.source == "weather" and r.name == "rain" and "雪" in r.keywords]
    assert len(snowy) >= 3
    for row in snowy:
        keywords, _ = ct.photo_keywords(photo_table, overrides, "weather", "rain", row.file)
        assert "雪" in keywords and "雨" not in keywords
    assert ct.photo_keywords(photo_table, overrides, "weather", "rain", "rain1.jpg") == (("雨",), (1.0,))


def test_every_keyword_is_chinese_and_main_subjects_weigh_most(photo_table, overrides, imagenet):
    for table in (photo_table, overrides, imagenet):
        for row in table:
            assert all(all("\u3400" <= c <= "\u9fff" for c in word) for word in row.keywords), row
            if row.weights:
                assert max(row.weights) >= 0.4, row


# ---------------------------------------------------------------------------------------------- malformed files

HEADER = "source,class,keywords,weights,reason\n"


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("weather,rain,雨,1,rain\nweather,fog,雾,1\n", "line 3: 4 columns, expected 5"),
        ("weather,rain,雨,1.5,rain\n", "line 2: weight '1.5' of '雨' is outside (0, 1]"),
        ("weather,rain,雨,0,rain\n", "line 2: weight '0' of '雨' is outside (0, 1]"),
        ("weather,rain,雨|水,1,rain\n", "line 2: 2 keywords ('雨|水') but 1 weights ('1')"),
        ("weather,rain,,1,rain\n", "line 2: 0 keywords"),
        ("weather,rain,雨,heavy,rain\n", "line 2: weight 'heavy' of '雨' is not a number"),
        ("weather,rain,雨,1,rain\n\nweather,rain,水,1,again\n", "line 4: 'weather/rain' already has a row on line 2"),
        ("weather,rain,雨,1,\n", "line 2: empty reason"),
        ("weather,rain,雨||水,1|1|1,rain\n", "line 2: empty keyword"),
    ],
)
def test_malformed_rows_name_the_file_line_and_fix(tmp_path, body, message):
    path = write(tmp_path, HEADER + body)
    with pytest.raises(InputError) as excinfo:
        ct.load_class_table(path)
    text = str(excinfo.value)
    assert message in text and str(path) in text and ";" in text  # the fix follows the problem


def test_a_wrong_header_is_line_one(tmp_path):
    path = write(tmp_path, "index,name,keywords,weights,reason\n0,tench,鱼,1,fish\n")
    with pytest.raises(InputError, match=r"line 1: header .* must be source,class,keywords,weights,reason"):
        ct.load_class_table(path)
    assert len(ct.load_imagenet_table(path)) == 1


def test_imagenet_rows_must_match_the_classifier(tmp_path):
    path = write(tmp_path, "index,name,keywords,weights,reason\n0,tench,鱼,1,fish\n1,goldfish,鱼,1,fish\n")
    assert len(ct.load_imagenet_table(path, categories=["tench", "goldfish"])) == 2
    with pytest.raises(InputError, match=r"line 3: index 1 is named 'goldfish', the classifier calls it 'carp'"):
        ct.load_imagenet_table(path, categories=["tench", "carp"])
    with pytest.raises(InputError, match=r"no row for class index 2"):
        ct.load_imagenet_table(path, categories=["tench", "goldfish", "shark"])
    dup = write(tmp_path, "index,name,keywords,weights,reason\n0,tench,鱼,1,fish\n0,carp,鱼,1,fish\n", "dup.csv")
    with pytest.raises(InputError, match=r"line 3: index 0 already used on line 2"):
        ct.load_imagenet_table(dup)


def test_a_quoted_reason_may_hold_commas_and_an_empty_row_loads(tmp_path):
    path = write(tmp_path, HEADER + 'scene15,coast,海|沙,1|0.7,"sea shore: sea, sand"\ncaltech101,laptop,,,no counterpart\n')
    table = ct.load_class_table(path)
    assert table.get("scene15", "coast").reason == "sea shore: sea, sand"
    assert table.get("scene15", "coast").weights == (1.0, 0.7)
    assert [r.name for r in table.without_keywords()] == ["laptop"]
    assert table.get("caltech101", "laptop").line == 3


def test_missing_file_and_empty_table_are_clear(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        ct.load_class_table(tmp_path / "none.csv")
    with pytest.raises(InputError, match="has no rows"):
        ct.load_class_table(write(tmp_path, HEADER))


# ---------------------------------------------------------------------------------------------- vocabulary


def test_vocabulary_report_keeps_every_row(tmp_path):
    path = write(
        tmp_path,
        HEADER + "scene15,coast,海|沙,1|0.7,sea\ncaltech101,crab,蟹,1,crab\ncaltech101,laptop,,,none\n",
    )
    table = ct.load_class_table(path)
    report = ct.check_against_vocabulary(table, ["海", "山"])
    assert report.rows == 3 and report.rows_with_vocabulary_word == 1
    assert report.without_keywords == ("caltech101/laptop",)
    assert report.without_vocabulary_word == ("caltech101/crab",)
    assert report.unknown_keywords == {"沙": 1, "蟹": 1}
    assert "1 of 3 rows name a vocabulary word" in report.summary()
    with pytest.raises(UnknownKeywordError, match=r"line 2 \(scene15/coast\): keyword '沙' is not in the 2-word vocabulary"):
        ct.check_against_vocabulary(table, ["海", "山"], strict=True)
    assert ct.check_against_vocabulary(table, ["海", "沙", "蟹"], strict=True).unknown_keywords == {}


# ---------------------------------------------------------------------------------------------- document frequency


def test_document_frequency_ignores_stage_directions():
    assert strip_stage_directions("(正末云)白云飞（带云）〔么篇〕[云]雨") == "白云飞雨"
    texts = ["(正末云)我去也", "白云千载", "（旦云）云雨", "春风\n(云)", "明月白云"]
    df = document_frequencies(texts, ["云", "白云", "明月", "雪", ""])
    assert df == {"云": 3, "白云": 2, "明月": 1, "雪": 0}


# ---------------------------------------------------------------------------------------------- proposal tool

TOOL = REPO / "tools" / "propose_class_keywords.py"


def _tool():
    spec = importlib.util.spec_from_file_location("propose_class_keywords", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_proposals_come_from_the_dictionary_its_characters_and_cilin():
    tool = _tool()

    class Cilin:
        def top_n(self, word, n):
            return [("海滨", 1.0), ("沿海地区", 1.0), ("水边", 0.8)] if word == "海岸" else []

    index = {"seashore": ["海岸"], "coast": ["海岸", "滨"], "shark": ["鲨"]}
    found = dict(tool.propose_for(["seashore, coast", "great white shark"], index, Cilin()))
    assert found == {"海岸": "cedict:seashore", "滨": "cedict:coast", "鲨": "head:shark", "海": "char:海岸", "岸": "char:海岸", "海滨": "cilin:海岸"}
    text = tool.format_candidates(list(found.items()), {"海": 2055, "岸": 768, "海岸": 3}, {"海"})
    assert text.startswith("海岸 3 [cedict:seashore]; 海* 2055 [char:海岸]; 岸 768 [char:海岸]")


def test_the_proposal_step_never_writes_over_the_reviewed_tables():
    before = {p.name: p.read_bytes() for p in ct.RESOURCES.iterdir()}
    result = subprocess.run(
        [sys.executable, str(TOOL), "propose", "--out", str(ct.RESOURCES)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "refusing" in result.stderr
    assert {p.name: p.read_bytes() for p in ct.RESOURCES.iterdir()} == before
