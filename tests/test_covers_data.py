import shutil

import numpy as np
import pytest
from covers_drawn import REAL_COVERS, draw_covers, private_cache  # noqa: F401  (autouse fixture)

from graphrec.covers import cover_features, describe_covers, read_cover_folder
from graphrec.errors import InputError
from graphrec.vision.seeds import Pixels16


def test_reads_genre_folders_with_hashes(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=4)
    (root / "metal" / "notes.txt").write_text("not a cover")
    covers = read_cover_folder(root, show_progress=False)
    assert covers.genres == ("country", "electronic", "metal")
    assert covers.counts() == {"country": 4, "electronic": 4, "metal": 4}
    assert all(covers.genre_of(i) in covers.paths[i] for i in range(len(covers)))
    assert len(set(covers.sha256)) == 12 and all(len(h) == 64 for h in covers.sha256)
    two = covers.select_genres(["metal", "country"])
    assert two.genres == ("metal", "country") and two.labels.tolist() == [1] * 4 + [0] * 4


def test_duplicates_across_genres_are_dropped_and_repeats_kept_once(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=3)
    shutil.copy(root / "metal" / "metal-000.png", root / "country" / "same-art.png")  # one artwork, two genres
    shutil.copy(root / "electronic" / "electronic-001.png", root / "electronic" / "again.png")  # twice in one genre
    dropped = read_cover_folder(root, show_progress=False)
    assert dropped.counts() == {"country": 3, "electronic": 3, "metal": 2}
    assert dropped.provenance["ambiguous_files_dropped"] == 2 and dropped.provenance["repeats_dropped"] == 1
    kept = read_cover_folder(root, duplicates="keep", show_progress=False)
    assert kept.counts() == {"country": 4, "electronic": 4, "metal": 3}


def test_per_genre_sample_is_seeded(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=6)
    a = read_cover_folder(root, per_genre=3, seed=1, show_progress=False)
    b = read_cover_folder(root, per_genre=3, seed=1, show_progress=False)
    assert a.paths == b.paths and a.counts() == {"country": 3, "electronic": 3, "metal": 3}


@pytest.mark.parametrize("make, match", [
    (lambda root: root / "absent", "does not exist"),
    (lambda root: draw_covers(root / "one", per_genre=2, genres=("metal",)), "at least two"),
])
def test_unusable_folders_are_clear_errors(tmp_path, make, match):
    with pytest.raises(InputError, match=match):
        read_cover_folder(make(tmp_path), show_progress=False)


def test_unknown_genre_names_the_ones_there(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=2)
    with pytest.raises(InputError, match="jazz"):
        read_cover_folder(root, genres=["jazz", "metal"], show_progress=False)


def test_corrupt_cover_is_reported_and_skipped(tmp_path):
    root = draw_covers(tmp_path / "covers", per_genre=3)
    (root / "metal" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is no JPEG")
    covers = read_cover_folder(root, show_progress=False)
    kept, features, failures = describe_covers(covers, "pixels16", show_progress=False)
    assert len(covers) == 10 and len(kept) == 9 and features.shape == (9, 256)
    assert [path for path, _ in failures] == [str(root / "metal" / "broken.jpg")]
    assert "broken.jpg" not in " ".join(kept.paths)
    assert np.isfinite(features).all() and (np.abs(features).sum(axis=1) > 0).all()  # the others were kept


class CountingPixels(Pixels16):
    calls = 0

    def compute(self, items):
        CountingPixels.calls += len(items)
        return super().compute(items)


def test_features_are_cached_by_content(tmp_path, private_cache):
    root = draw_covers(tmp_path / "covers", per_genre=3)
    paths = sorted(str(p) for p in root.rglob("*.png"))
    CountingPixels.calls = 0
    first = cover_features(CountingPixels(), paths, chunk_size=4, show_progress=False)
    assert CountingPixels.calls == 9
    renamed = tmp_path / "elsewhere.png"
    shutil.copy(paths[0], renamed)  # same bytes, new name: a cache hit
    again = cover_features(CountingPixels(), [*paths, str(renamed)], show_progress=False)
    assert CountingPixels.calls == 9
    np.testing.assert_array_equal(again.features[:9], first.features)
    np.testing.assert_array_equal(again.features[9], first.features[0])
    assert (private_cache / "covers" / "features").is_dir()


def test_pixels16_is_mean_subtracted_and_variance_normalised():
    # A half-black, half-white picture: after the mean goes, every pixel is +-a, and unit norm makes a = 1/16.
    image = np.zeros((32, 32, 3), dtype=np.uint8)
    image[:, 16:] = 255
    noisy = np.random.default_rng(0).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    x = Pixels16().transform([image, noisy])
    np.testing.assert_allclose(np.abs(x[0]), 1 / 16, atol=1e-6)
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=1), 1 / 16, atol=1e-6)  # the same variance for every image


@pytest.mark.skipif(not REAL_COVERS.is_dir(), reason="../shared/data/covers is not here")
def test_real_cover_folder():
    covers = read_cover_folder(REAL_COVERS, show_progress=False)
    prov = covers.provenance
    assert covers.genres == ("country", "electronic", "hiphop", "metal", "pop", "rock")
    assert prov["files"] == 5718
    assert len(covers) == prov["files"] - prov["ambiguous_files_dropped"] - prov["repeats_dropped"]
