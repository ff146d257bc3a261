"""Image sets: manifests, keyword folders, the shipped emoji, and mapping onto the song vocabulary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphrec.data.images import (
    ImageRecord,
    ImageSet,
    load_default_images,
    load_emoji_images,
    read_image_folder,
    read_image_manifest,
    read_images,
)
from graphrec.errors import ImageError
from graphrec.text.mapping import COMPOUND_FACTOR, SYNONYM_FACTOR, keyword_matches, map_to_vocabulary


def png(path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), (200, 10, 10)).save(path)
    return path


def test_csv_manifest_relative_paths_weights_and_extra_columns(tmp_path):
    png(tmp_path / "img" / "a.png")
    png(tmp_path / "img" / "b.png")
    (tmp_path / "manifest.csv").write_text(
        "path,keywords,weight,licence\n"
        "img/a.png,雪花|冷|雪,1|0.5|0.5,CC0\n"
        "img/b.png, 月 ,,\n",
        encoding="utf-8",
    )
    images = read_image_manifest(tmp_path / "manifest.csv")
    assert len(images) == 2
    a, b = images
    assert a.id == "img/a.png" and Path(a.path) == (tmp_path / "img" / "a.png").resolve()
    assert a.keywords == ("雪花", "冷", "雪") and a.weights == (1.0, 0.5, 0.5)
    assert dict(a.extra) == {"licence": "CC0"}
    assert b.keywords == ("月",) and b.weights == (1.0,)  # weight defaults to 1.0
    assert read_images(tmp_path) == images.records or list(read_images(tmp_path)) == images.records


def test_jsonl_manifest_with_ids_and_a_single_weight(tmp_path):
    png(tmp_path / "x.png")
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"id": "mine:1", "path": "x.png", "keywords": ["雪", "山"], "weight": 0.8}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    (record,) = read_images(tmp_path / "m.jsonl")
    assert (record.id, record.keywords, record.weights) == ("mine:1", ("雪", "山"), (0.8, 0.8))


@pytest.mark.parametrize("weight", ["1.5", "0", "-1", "abc", "0.5|0.5"])
def test_bad_weight_names_file_and_line(tmp_path, weight):
    png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text(f"path,keywords,weight\na.png,雪,1\na.png,月,{weight}\n", encoding="utf-8")
    with pytest.raises(ImageError, match=r"m\.csv.*line 3.*weight"):
        read_image_manifest(tmp_path / "m.csv")


def test_missing_image_file_is_an_error_or_skipped(tmp_path):
    png(tmp_path / "a.png")
    (tmp_path / "m.csv").write_text("path,keywords\na.png,雪\ngone.png,月\n", encoding="utf-8")
    with pytest.raises(ImageError, match=r"line 3.*gone\.png.*does not exist"):
        read_image_manifest(tmp_path / "m.csv")
    images = read_image_manifest(tmp_path / "m.csv", missing="skip")
    assert [r.id for r in images] == ["a.png"] and images.provenance["skipped_missing"] == 1


def test_manifest_errors(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        read_image_manifest(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_text("path,keywords\n", encoding="utf-8")
    with pytest.raises(ImageError, match="no usable images"):
        read_image_manifest(tmp_path / "empty.csv")
    (tmp_path / "nocol.csv").write_text("file,tags\na.png,雪\n", encoding="utf-8")
    with pytest.raises(ImageError, match="missing column 'path'"):
        read_image_manifest(tmp_path / "nocol.csv")
    png(tmp_path / "a.png")
    (tmp_path / "nokw.csv").write_text("path,keywords\na.png,\n", encoding="utf-8")
    with pytest.raises(ImageError, match="line 2.*no keywords"):
        read_image_manifest(tmp_path / "nokw.csv")
    (tmp_path / "bad.jsonl").write_text('{"path": "a.png", "keywords": ["雪"]}\n{oops\n', encoding="utf-8")
    with pytest.raises(ImageError, match="line 2.*not valid JSON"):
        read_image_manifest(tmp_path / "bad.jsonl")


def test_keyword_folders(tmp_path):
    png(tmp_path / "photos" / "雪" / "1.jpg")
    png(tmp_path / "photos" / "雪" / "2.png")
    png(tmp_path / "photos" / "月" / "1.jpg")
    (tmp_path / "photos" / "月" / "notes.txt").write_text("not an image")
    png(tmp_path / "photos" / "loose.png")
    images = read_images(tmp_path / "photos")
    assert [(r.id, r.keywords) for r in images] == [("月/1.jpg", ("月",)), ("雪/1.jpg", ("雪",)), ("雪/2.png", ("雪",))]
    assert images.keyword_counts() == {"雪": 2, "月": 1}
    assert images.provenance["ignored_files"] == 2
    with pytest.raises(ImageError, match="no images in keyword sub-folders"):
        read_image_folder(tmp_path / "photos" / "月" if False else _empty(tmp_path / "nothing"))


def _empty(path: Path) -> Path:
    path.mkdir()
    return path


def test_image_record_checks_its_weights():
    with pytest.raises(ImageError, match="outside"):
        ImageRecord("x", "/x.png", ("雪",), (0.0,))
    with pytest.raises(ImageError, match="one weight per keyword"):
        ImageRecord("x", "/x.png", ("雪", "月"), (1.0,))


def test_mapping_rules_known_answers():
    vocab = ["雪", "月", "花", "日", "雨"]
    assert keyword_matches("雪", vocab) == [("雪", 1.0, "exact")]
    assert [m[0] for m in keyword_matches("雪花", vocab)] == ["雪"]  # a snowflake is not a flower
    assert keyword_matches("樱花", vocab) == [("花", COMPOUND_FACTOR, "compound")]
    assert keyword_matches("月亮", vocab) == [("月", SYNONYM_FACTOR, "synonym")]
    assert keyword_matches("太阳", vocab) == [("日", SYNONYM_FACTOR, "synonym")]
    assert keyword_matches("雨伞", vocab) == []  # an umbrella is not rain
    assert keyword_matches("笑脸", vocab) == []


def test_map_to_vocabulary_relabels_drops_and_counts():
    images = ImageSet(
        [
            ImageRecord("snowflake", "/s.png", ("雪花", "冷", "雪"), (1.0, 0.5, 0.5)),
            ImageRecord("moon", "/m.png", ("月亮",), (1.0,)),
            ImageRecord("face", "/f.png", ("笑脸", "高兴"), (1.0, 0.5)),
            ImageRecord("blossom", "/b.png", ("樱花", "花"), (1.0, 0.5)),
        ],
        {"source": "test"},
    )
    mapped, stats = map_to_vocabulary(images, ["花", "月", "雪"])
    assert [(r.id, r.keywords, r.weights) for r in mapped] == [
        ("snowflake", ("雪",), (pytest.approx(SYNONYM_FACTOR),)),  # max(synonym 0.8 x 1.0, exact 0.5)
        ("moon", ("月",), (pytest.approx(SYNONYM_FACTOR),)),
        ("blossom", ("花",), (pytest.approx(COMPOUND_FACTOR),)),
    ]
    assert stats["images_in"] == 4 and stats["images_mapped"] == 3 and stats["images_dropped"] == 1
    assert stats["dropped_ids_sample"] == ["face"]
    assert stats["matches_by_rule"] == {"synonym": 2, "exact": 2, "compound": 1}
    assert stats["images_per_keyword"] == {"花": 1, "月": 1, "雪": 1}


def test_shipped_emoji_load_and_map():
    from graphrec.data.bundled import COUNTS_FILE

    counts = json.loads(COUNTS_FILE.read_text(encoding="utf-8"))["emoji"]
    images = load_emoji_images()
    assert len(images) == counts["images"] == 1911
    assert all(Path(r.path).is_file() for r in images.records[::97])
    snow = next(r for r in images if r.id == "emoji:2744")
    assert snow.keywords[0] == "雪花" and snow.weights[0] == 1.0 and set(snow.weights[1:]) == {0.5}
    mapped, stats = map_to_vocabulary(images, ["雪", "月", "花"])
    assert "emoji:2744" in {r.id for r in mapped}
    assert stats["images_mapped"] + stats["images_dropped"] == 1911
    assert 10 < stats["images_mapped"] < 300


def test_shipped_photos_are_labelled_by_the_class_table():
    from graphrec.data.bundled import COUNTS_FILE

    counts = json.loads(COUNTS_FILE.read_text(encoding="utf-8"))["photos"]
    photos = load_default_images()
    assert len(photos) == counts["photos"] == 894
    assert {dict(r.extra)["class"] for r in photos} == {"cloudy", "rain", "shine", "sunrise"}
    by_id = {r.id: r for r in photos}
    assert by_id["weather/cloudy/cloudy1.jpg"].keywords == ("云",)
    # a snow scene filed under rain takes its override row's words, not the folder's
    assert by_id["weather/rain/rain64.jpg"].keywords[0] == "雪" and "雨" not in by_id["weather/rain/rain64.jpg"].keywords
    assert all(r.keywords for r in photos) and all(Path(r.path).is_file() for r in photos.records[::53])


def test_photo_folders_need_a_class_row_and_skip_non_images(tmp_path):
    from graphrec.data.class_tables import read_class_table
    from graphrec.data.images import read_photo_classes

    table = tmp_path / "classes.csv"
    table.write_text("source,class,keywords,weights,reason\nmine,snow,雪,1,snow\nmine,desk,,,no lyric word\n", encoding="utf-8")
    for name in ("snow", "desk"):
        (tmp_path / "photos" / "mine" / name).mkdir(parents=True)
        png(tmp_path / "photos" / "mine" / name / "a.png")
    (tmp_path / "photos" / "mine" / "snow" / "notes.txt").write_text("not a photo")
    photos = read_photo_classes(tmp_path / "photos", classes=read_class_table(table, "photo"))
    assert [(r.id, r.keywords) for r in photos] == [("mine/desk/a.png", ()), ("mine/snow/a.png", ("雪",))]
    assert photos.provenance["ignored_files"] == 1 and photos.provenance["classes_without_keywords"] == ["mine/desk"]
    (tmp_path / "photos" / "mine" / "boat").mkdir()
    with pytest.raises(ImageError, match=r"boat.*has no row in the class table"):
        read_photo_classes(tmp_path / "photos", classes=read_class_table(table, "photo"))
