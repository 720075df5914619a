"""`dedupe` in bounded memory finds exactly what one pass over every record finds.

`find_clusters` sketches every candidate, keeps the pairs the sketches cannot rule out, then
scores and clusters them a batch of components at a time (`crmcli.operations.dedupe`). These
tests compare it with the straightforward pass it replaced (every candidate's record at once)
on a crowd of look-alikes: namesakes, typos in phones, a shared switchboard, common names.
"""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from crmcli import matching_cluster as mc
from crmcli import matching_score as ms
from crmcli.models import build_draft
from crmcli.operations import customers, dedupe, dedupe_candidates, merging
from crmcli.store import Store, open_store
from crmcli.store import match_keys as match_keys_db
from crmcli.store import merges as merges_db

NAMES = [
    "张伟", "張偉", "张玮", "张伟伟", "Zhang Wei", "李明", "王芳", "王芳芳", "Robert Smith",
    "Bob Smith", "Rob Smyth", "Laura Chen", "Lara Chen", "陈劳拉", "Chen Laura",
]  # fmt: skip
RARER = [a + b for a in "赵钱孙周吴郑冯" for b in ("静", "磊", "洋", "艳", "勇")]
COMPANIES = [
    None,
    None,
    "深圳某某科技有限公司",
    "深圳某某科技",
    "Acme Inc.",
    "ACME",
    "華信科技",
    "华信科技",
]
MOBILES = ["13812345678", "13812345687", "13812345670", "13912345678", "13900001111"]
LANDLINES = ["0755-86001234", "0755-86001243", "(415) 555-0134", "(415) 555-0143"]
SWITCHBOARD = "010-58123456"  # shared by many: a crowded phone key
EMAILS = ["a@example.com", "b@example.com", "c@example.com"]


VARIANTS = [
    ["张伟", "張偉", "Zhang Wei", "张玮"],
    ["Robert Smith", "Bob Smith", "Rob Smyth"],
    ["Laura Chen", "Lara Chen", "陈劳拉", "Chen Laura"],
    ["王芳", "王芳芳"],
]


def _variant(rng: random.Random, name: str) -> str:
    for names in VARIANTS:
        if name in names:
            return rng.choice(names)
    return name


def _typo(rng: random.Random, phone: str) -> str:
    digits = [i for i, c in enumerate(phone) if c.isdigit()][-6:]
    i = rng.choice(digits)
    return phone[:i] + str((int(phone[i]) + 1) % 10) + phone[i + 1 :]


@pytest.fixture(scope="module")
def crowd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database of 160 look-alike customers, built once for the module (then copied)."""
    path = tmp_path_factory.mktemp("crowd") / "crm.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("CRMCLI_CONFIG_DIR", str(path.parent / "config"))
    mp.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    mp.setenv("CRMCLI_REGION", "CN")
    mp.delenv("CRMCLI_KEY_FILE", raising=False)
    try:
        store = open_store(path, create=True)
        store.command = "test"
        rng = random.Random(4)
        ids: list[int] = []
        made: list[dict[str, Any]] = []
        for n in range(160):
            if made and rng.random() < 0.4:  # the same customer again, a little different
                values = dict(rng.choice(made))
                if rng.random() < 0.5:
                    values["name"] = _variant(rng, values["name"])
                if values["phones"] and rng.random() < 0.3:
                    values["phones"] = [_typo(rng, values["phones"][0]), *values["phones"][1:]]
                if rng.random() < 0.3:
                    values.pop("emails", None)
            else:
                values = {"name": rng.choice(NAMES if rng.random() < 0.5 else RARER)}
                if rng.random() < 0.08:
                    values["kind"] = "company"
                    values["name"] = rng.choice(["深圳某某科技有限公司", "某某公司", "Acme Inc."])
                if company := rng.choice(COMPANIES):
                    values["company"] = company
                phones = rng.sample(MOBILES + LANDLINES, rng.choice([0, 1, 1, 2]))
                if n % 6 == 0:
                    phones.append(SWITCHBOARD)
                values["phones"] = phones
                if rng.random() < 0.3:
                    values["emails"] = [rng.choice(EMAILS)]
                if rng.random() < 0.5:
                    values["gender"] = rng.choice(["male", "female"])
            made.append(values)
            ids.append(customers.add(store, build_draft(values)).id)
        # A front desk's e-mail on many records (a crowded key at max_block 8), two of them
        # namesakes of opposite genders: only the shared e-mail lets them reach a score.
        for n, name in enumerate(["欧阳娜娜", "欧阳娜娜", "Front Desk", "Reception", *RARER[:6]]):
            values = {"name": name, "emails": ["desk@example.com"]}
            values["gender"] = "female" if n else "male"
            customers.add(store, build_draft(values))
        merging.mark_not_duplicates(store, ids[:2])
        store.close()
    finally:
        mp.undo()
    return path


@pytest.fixture
def store(crowd: Path, isolated: Path) -> Store:
    shutil.copy2(crowd, isolated)
    shutil.copytree(crowd.parent / "config", isolated.parent / "config")  # the key, mode 600
    s = open_store(isolated)
    s.command = "test"
    return s


def reference(store: Store, threshold: float, max_block: int) -> list[tuple[Any, ...]]:
    """The single pass `find_clusters` replaced: every candidate's record held at once."""
    dedupe.ensure_keys(store)
    freq: dict[str, int] = {}
    pairs: set[tuple[int, int]] = set()
    for key, size, ids in match_keys_db.blocks(store):
        freq[key] = size
        limit = dedupe_candidates.block_limit(key, max_block)
        if size <= limit:
            pairs.update(itertools.combinations(sorted(ids), 2))
    refused = set(merges_db.not_duplicate_pairs(store))
    pairs -= refused
    vault = store.vault()
    records = dedupe.load_records(store, {i for p in pairs for i in p}, vault)
    holders = dedupe._phone_counts(records.values())

    def frequency(key: str) -> int:
        return holders.get(key, 1) if key.startswith("x:") else freq.get(key, 1)

    def score(a: int, b: int) -> ms.PairScore:
        if (a, b) in refused:
            return dedupe._NOT_DUPLICATES
        return ms.score_pair(records[a], records[b], frequency)

    scored = [
        p
        for a, b in pairs
        if ms.may_reach(records[a], records[b], threshold, frequency)
        and (p := ms.score_pair(records[a], records[b], frequency)).score >= threshold
    ]
    clusters = mc.cluster(scored, score, threshold=threshold)
    return [shape(c) for c in clusters if c.score >= threshold]


def shape(c: mc.Cluster) -> tuple[Any, ...]:
    return (c.members, c.band, c.score, c.weakest, sorted(c.pairs.items()), c.conflict)


@pytest.mark.parametrize("max_block", [100, 20, 8])
@pytest.mark.parametrize("threshold", [ms.POSSIBLE, ms.LIKELY, 2.0, 0.0])
def test_the_same_groups_as_one_pass_over_every_record(
    store: Store, max_block: int, threshold: float
) -> None:
    expected = reference(store, threshold, max_block)
    found = dedupe.find_clusters(store, min_score=threshold, max_block=max_block)
    assert [shape(c) for c in found.clusters] == expected
    assert expected  # the crowd has duplicates


def test_small_batches_change_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = dedupe.find_groups(store)
    assert len(whole.groups) > 5
    monkeypatch.setattr(dedupe, "_SMALL_RUN", 0)
    monkeypatch.setattr(dedupe, "_SKETCH_CHUNK", 7)
    monkeypatch.setattr(dedupe, "_BATCH", 3)
    monkeypatch.setattr(dedupe, "_GROUP_CHUNK", 2)
    batched = dedupe.find_groups(store)
    assert dedupe.member_rows(batched) == dedupe.member_rows(whole)
    assert batched.groups == whole.groups
    assert (batched.candidate_pairs, batched.skipped) == (whole.candidate_pairs, whole.skipped)


@pytest.mark.parametrize("max_block", [100, 20, 8])
def test_sketches_never_drop_a_pair_that_may_reach(store: Store, max_block: int) -> None:
    """The sketch bound is looser than `ms.may_reach`, never stricter; the phone counts it
    keeps are exact wherever they can matter (above SHARED_FREE)."""
    dedupe.ensure_keys(store)
    vault = store.vault()
    cand = dedupe_candidates.candidates(store, max_block)
    sketches = dedupe._sketch_all(store, cand, vault)
    codes = cand.contact | cand.other
    ids = {c >> cand.shift for c in codes} | {c & cand.mask for c in codes}
    records = dedupe.load_records(store, ids, vault)
    holders = dedupe._phone_counts(records.values())
    assert {k: n for k, n in holders.items() if n > ms.SHARED_FREE} == {
        k: n for k, n in sketches.phone_holders.items() if n > ms.SHARED_FREE
    }
    assert any(n > ms.SHARED_FREE for n in holders.values())  # the switchboard

    def frequency(key: str) -> int:
        return holders.get(key, 1) if key.startswith("x:") else cand.freq.get(key, 1)

    for threshold in (ms.POSSIBLE, ms.LIKELY, 2.0, 0.0, -20.0):
        kept = set(dedupe_candidates.survivors(cand, sketches, threshold, None))
        assert kept <= codes
        for code in codes:
            a, b = records[code >> cand.shift], records[code & cand.mask]
            if ms.may_reach(a, b, threshold, frequency):
                assert code in kept, (a.name, b.name, threshold)
        if threshold == ms.POSSIBLE:
            assert len(kept) < len(codes)  # and it does rule pairs out


def test_frequencies_at_or_below_shared_free_count_in_full() -> None:
    """Why `_candidates` keeps only the keys held by more than SHARED_FREE customers."""
    for k in range(1, ms.SHARED_FREE + 1):
        assert ms.shared_factor(k) == 1.0
        assert ms.common_factor(k) == 1.0
        assert ms._name_bound(k) == ms._name_bound(1)
