"""The vault: donor objects encrypted under the master -> donor -> clip key hierarchy."""

from __future__ import annotations

import os
import stat

import pytest

from vidonate.config import Settings
from vidonate.crypto.keys import FileKeyProvider
from vidonate.crypto.stream import CHUNK, HEADER_LEN, TAG_LEN, DecryptionError
from vidonate.crypto.vault import ContentShredded, Vault, open_key_ring, rotate_master_key
from vidonate.db.engine import transaction
from vidonate.db.models import Donation, DonorKey
from vidonate.runtime import Runtime
from vidonate.storage.base import put_bytes, read_bytes
from world import World

DATA = os.urandom(2 * CHUNK + CHUNK // 2 + 7)


def _clip_key(world: World, donation_id: int) -> bytes:
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        return world.rt.vault.clip_key(s, donation)


def _put(vault: Vault, clip_key: bytes, key: str, data: bytes, piece: int = 100_000) -> int:
    writer = vault.writer(clip_key, key)
    for i in range(0, len(data), piece):
        writer.write(data[i : i + piece])
    return writer.commit()


def test_the_store_holds_only_ciphertext_and_the_vault_gives_the_plaintext_back(
    world: World,
) -> None:
    clip_key = _clip_key(world, world.clip_in_review())
    assert _put(world.rt.vault, clip_key, "clips/1/video.mp4", DATA) == len(DATA)
    stored = read_bytes(world.rt.store, "clips/1/video.mp4")
    assert DATA[:64] not in stored and DATA[-64:] not in stored
    assert len(stored) == len(DATA) + HEADER_LEN + 3 * TAG_LEN
    assert world.rt.vault.size(clip_key, "clips/1/video.mp4") == len(DATA)
    assert b"".join(world.rt.vault.read(clip_key, "clips/1/video.mp4")) == DATA


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, 1), (0, CHUNK), (CHUNK - 1, CHUNK + 1), (CHUNK, 2 * CHUNK), (5, None),
     (2 * CHUNK + 3, None), (len(DATA) - 1, None), (100, 2 * CHUNK + 100)],
)  # fmt: skip
def test_any_byte_range_decrypts_only_what_it_needs(
    world: World, start: int, end: int | None
) -> None:
    clip_key = _clip_key(world, world.clip_in_review())
    _put(world.rt.vault, clip_key, "clips/1/video.mp4", DATA)
    assert (
        b"".join(world.rt.vault.read(clip_key, "clips/1/video.mp4", start, end)) == DATA[start:end]
    )


def test_an_empty_object_round_trips(world: World) -> None:
    clip_key = _clip_key(world, world.clip_in_review())
    _put(world.rt.vault, clip_key, "clips/1/empty", b"")
    assert world.rt.vault.size(clip_key, "clips/1/empty") == 0
    assert b"".join(world.rt.vault.read(clip_key, "clips/1/empty")) == b""


def _overwrite(world: World, key: str, ciphertext: bytes) -> None:
    """What someone with write access to the store could do to a blob."""
    put_bytes(world.rt.store, key, ciphertext)


@pytest.mark.parametrize("damage", ["flip", "truncate_at_chunk", "truncate_mid", "append",
                                    "swap_chunks"])  # fmt: skip
def test_damaged_ciphertext_fails_loudly(world: World, damage: str) -> None:
    clip_key = _clip_key(world, world.clip_in_review())
    _put(world.rt.vault, clip_key, "clips/1/video.mp4", DATA)
    blob = bytearray(read_bytes(world.rt.store, "clips/1/video.mp4"))
    sealed = CHUNK + TAG_LEN
    if damage == "flip":
        blob[HEADER_LEN + sealed + 1000] ^= 0x01
    elif damage == "truncate_at_chunk":
        del blob[HEADER_LEN + 2 * sealed :]
    elif damage == "truncate_mid":
        del blob[-5:]
    elif damage == "append":
        blob += os.urandom(100)
    else:
        first, second = (
            slice(HEADER_LEN, HEADER_LEN + sealed),
            slice(HEADER_LEN + sealed, HEADER_LEN + 2 * sealed),
        )
        blob[first], blob[second] = blob[second], blob[first]
    _overwrite(world, "clips/1/video.mp4", bytes(blob))
    with pytest.raises(DecryptionError):
        b"".join(world.rt.vault.read(clip_key, "clips/1/video.mp4"))


def test_a_blob_copied_under_another_key_or_clip_does_not_open(world: World) -> None:
    mine, other = world.clip_in_review(), world.clip_in_review()
    key_mine, key_other = _clip_key(world, mine), _clip_key(world, other)
    assert key_mine != key_other, "every clip has its own key"
    _put(world.rt.vault, key_mine, "clips/1/video.mp4", DATA)
    _overwrite(world, "clips/2/video.mp4", read_bytes(world.rt.store, "clips/1/video.mp4"))
    with pytest.raises(DecryptionError):  # right key, wrong place: the blob key is bound in
        b"".join(world.rt.vault.read(key_mine, "clips/2/video.mp4"))
    with pytest.raises(DecryptionError):  # another clip's key
        b"".join(world.rt.vault.read(key_other, "clips/1/video.mp4"))


def test_donor_keys_are_made_once_per_donor_and_stored_only_wrapped(world: World) -> None:
    a1, a2, b1 = world.clip_in_review(), world.clip_in_review(), world.clip_in_review("bob")
    with transaction(world.rt.sessions) as s:
        rows = {row.user_id: row for row in s.query(DonorKey)}
        assert set(rows) == {world.alice.id, world.bob.id}
        for row in rows.values():
            assert row.key_id == world.rt.vault.ring.current.key_id
            data_key = world.rt.vault.donor_key(s, row.user_id)
            assert data_key not in row.wrapped
    assert len({_clip_key(world, d) for d in (a1, a2, b1)}) == 3


def test_shredding_a_clip_or_a_donor_makes_their_content_unreadable(world: World) -> None:
    a1, a2, b1 = world.clip_in_review(), world.clip_in_review(), world.clip_in_review("bob")
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, a1)
        assert donation is not None
        world.rt.vault.shred_clip(donation)
    with pytest.raises(ContentShredded):
        _clip_key(world, a1)
    _clip_key(world, a2)  # the donor's other clips are untouched
    with transaction(world.rt.sessions) as s:
        world.rt.vault.shred_donor(s, world.alice.id)
    with pytest.raises(ContentShredded):
        _clip_key(world, a2)
    _clip_key(world, b1)  # and other donors' too
    a3 = world.clip_in_review()  # donating again starts under a new data key
    _clip_key(world, a3)
    with pytest.raises(ContentShredded):
        _clip_key(world, a2)


def test_the_master_key_file_is_created_at_first_start_private_to_its_owner(
    settings: Settings,
) -> None:
    assert settings.master_key_file == settings.var_dir.resolve() / "master.key"
    assert not settings.master_key_file.exists()
    rt = Runtime.from_settings(settings)
    try:
        mode = stat.S_IMODE(settings.master_key_file.stat().st_mode)
        assert mode == 0o600
        assert (
            rt.vault.ring.current.key_id
            == FileKeyProvider.load_or_create(settings.master_key_file).key_id
        )
    finally:
        rt.close()


def test_rotating_the_master_key_rewraps_donor_keys_and_rewrites_no_blob(
    world: World, settings: Settings
) -> None:
    donation_id = world.clip_in_review()
    _put(world.rt.vault, _clip_key(world, donation_id), "clips/1/video.mp4", DATA)
    key_file = settings.master_key_file
    assert key_file is not None
    blob_before = read_bytes(world.rt.store, "clips/1/video.mp4")
    old = FileKeyProvider.load_or_create(key_file)

    done = rotate_master_key(world.rt.sessions, key_file)

    assert done.rewrapped == 1 and done.old_key_id == old.key_id != done.new_key_id
    assert read_bytes(world.rt.store, "clips/1/video.mp4") == blob_before
    assert done.retired_file.exists() and not key_file.with_name("master.key.next").exists()
    with transaction(world.rt.sessions) as s:
        (row,) = s.query(DonorKey).all()
        assert row.key_id == done.new_key_id and row.rewrapped_at is not None
    # A process started afterwards, holding only the new key, reads the clip.
    fresh = Vault(world.rt.store, open_key_ring(key_file))
    with transaction(world.rt.sessions) as s:
        donation = s.get(Donation, donation_id)
        assert donation is not None
        assert b"".join(fresh.read(fresh.clip_key(s, donation), "clips/1/video.mp4")) == DATA
    # The running process (started with the old key) finds the new one by itself.
    assert world.plaintext(donation_id, "clips/1/video.mp4") == DATA


@pytest.mark.slow  # writes and reads 2 GiB: make test, not test-fast
def test_objects_over_2_gib_work(world: World) -> None:
    """Sizes past 2^31 (and 2^32) bytes: written, sized and read back at both ends."""
    clip_key = _clip_key(world, world.clip_in_review())
    block = bytes(range(256)) * (16 << 12)  # 16 MiB, a repeating pattern
    size = (1 << 32) + (1 << 20) + 3 if os.environ.get("VIDONATE_HUGE_TESTS") else (1 << 31) + 5
    writer = world.rt.vault.writer(clip_key, "clips/1/huge")
    left = size
    while left:
        piece = block[: min(len(block), left)]
        writer.write(piece)
        left -= len(piece)
    try:
        assert writer.commit() == size
        vault = world.rt.vault
        assert vault.size(clip_key, "clips/1/huge") == size
        tail = b"".join(vault.read(clip_key, "clips/1/huge", size - 300))
        assert tail == (block * 2)[(size - 300) % len(block) :][:300]
        head = b"".join(vault.read(clip_key, "clips/1/huge", 0, 1000))
        assert head == block[:1000]
    finally:
        world.rt.store.delete("clips/1/huge")


def test_first_uploads_at_once_agree_on_one_donor_key(world: World) -> None:
    """Several first uploads of one donor race to create the key: all get the same one."""
    from concurrent.futures import ThreadPoolExecutor

    def key_of_a_new_session(_: int) -> bytes:
        with transaction(world.rt.sessions) as s:
            return world.rt.vault.donor_key(s, world.bob.id, create=True)

    with ThreadPoolExecutor(6) as pool:
        keys = set(pool.map(key_of_a_new_session, range(12)))
    assert len(keys) == 1
    with transaction(world.rt.sessions) as s:
        assert s.query(DonorKey).filter_by(user_id=world.bob.id).count() == 1
