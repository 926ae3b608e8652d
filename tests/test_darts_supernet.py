"""The DARTS supernet: weight inheritance, training, checkpoints, data, evaluation."""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lapt.spaces import LayerChoice, Subspace, get_space
from lapt.spaces.darts import DartsSpace
from lapt.tools.supernet import (
    DataError,
    ImageData,
    StandaloneNetwork,
    Supernet,
    SupernetEvaluator,
    TrainConfig,
    latest_checkpoint,
    load_data,
    load_supernet,
    train_from_scratch,
    train_supernet,
)

TINY = TrainConfig(channels=4, layers=3, epochs=2, batch_size=32, calib_batches=2)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and lose a lot on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def darts() -> DartsSpace:
    space = get_space("darts")
    assert isinstance(space, DartsSpace)
    return space


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load_data("digits")


@pytest.fixture(scope="module")
def small_digits(digits: ImageData) -> ImageData:
    """256 training images: enough to exercise the loop quickly."""
    return dataclasses.replace(digits, train=dataclasses.replace(
        digits.train, x=digits.train.x[:256], y=digits.train.y[:256]))


def conv_subspace(darts: DartsSpace) -> Subspace:
    ops = ("skip_connect", "sep_conv_3x3", "dil_conv_3x3")
    return Subspace(space="darts", layers=tuple(LayerChoice(ops=ops, sources=l.sources)
                                                for l in darts.layers))


# ---------------------------------------------------------------------------- data
def test_digits_split_is_deterministic(digits: ImageData) -> None:
    assert (len(digits.train), len(digits.val), len(digits.test)) == (1078, 359, 360)
    assert digits.in_channels == 1 and digits.image_size == 8 and digits.num_classes == 10
    again = load_data("digits")
    assert torch.equal(again.val.x, digits.val.x) and torch.equal(again.test.y, digits.test.y)
    x, _ = next(digits.batches("train", 2048))
    assert abs(float(x.mean())) < 1e-3 and abs(float(x.std()) - 1) < 1e-3


def test_missing_cifar_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_data("cifar10", root=tmp_path)
    text = str(err.value)
    assert str(tmp_path / "cifar-10-batches-py") in text
    assert "data_batch_1" in text and "never downloads" in text
    with pytest.raises(DataError, match="cifar-100-python"):
        load_data("cifar100", root=tmp_path)
    with pytest.raises(ValueError, match="valid: digits, cifar10, cifar100"):
        load_data("mnist")


def test_cifar_layout_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (20, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, 20).tolist()}
        with open(folder / name, "wb") as fh:
            pickle.dump(batch, fh)
    with pytest.raises(DataError, match="is not the official CIFAR file .MD5"):
        load_data("cifar10", root=tmp_path)  # refused before anything is unpickled
    data = load_data("cifar10", root=tmp_path, val_size=0.2, trust_unverified=True)
    assert (len(data.train), len(data.val), len(data.test)) == (80, 20, 20)
    assert data.in_channels == 3 and data.image_size == 32 and data.augment
    gen = torch.Generator().manual_seed(0)
    x, y = next(data.batches("train", 16, gen, shuffle=True, augment=True))
    assert x.shape == (16, 3, 32, 32) and y.dtype == torch.int64
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not an official CIFAR python batch"):
        load_data("cifar10", root=tmp_path, trust_unverified=True)


class _Payload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        import os
        return (os.mkdir, (os.environ["LAPT_TEST_PWNED"],))


def test_a_crafted_cifar_file_is_never_unpickled(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    marker = tmp_path / "pwned"
    monkeypatch.setenv("LAPT_TEST_PWNED", str(marker))
    for name in ("train", "test"):
        (folder / name).write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(DataError, match="not the official CIFAR file"):
        load_data("cifar100", root=tmp_path)
    assert not marker.exists()


# ------------------------------------------------------------------ inheritance
def test_supernet_path_equals_standalone_with_its_weights(darts: DartsSpace) -> None:
    torch.manual_seed(0)
    net = Supernet(darts.full_subspace(), channels=4, layers=3, num_classes=10, in_channels=1)
    x = torch.randn(8, 1, 8, 8)
    rng = np.random.default_rng(0)
    with torch.no_grad():  # give every batch norm non-trivial running statistics
        net.train()
        for _ in range(3):
            net(torch.randn(8, 1, 8, 8) * 2 + 1, net.sample(rng))
    net.eval()
    for _ in range(5):
        arch = net.sample(rng)
        alone = net.extract(arch).eval()
        assert isinstance(alone, StandaloneNetwork)
        assert set(alone.state_dict()) < set(net.state_dict())
        with torch.no_grad():
            assert torch.allclose(net(x, arch), alone(x), atol=1e-6)
        # the swapped twin of a node's inputs is the same network
        with torch.no_grad():
            assert torch.allclose(net(x, darts.canonical(arch)), alone(x), atol=1e-6)


def test_supernet_over_a_subspace_only_holds_its_ops(darts: DartsSpace) -> None:
    sub = conv_subspace(darts)
    net = Supernet(sub, channels=4, layers=3, in_channels=1)
    full = Supernet(darts.full_subspace(), channels=4, layers=3, in_channels=1)
    assert sum(p.numel() for p in net.parameters()) < sum(p.numel() for p in full.parameters())
    assert set(net.cells[0].edges["0_2"]) == {"skip_connect", "sep_conv_3x3", "dil_conv_3x3"}
    outside = darts.sample(np.random.default_rng(0))
    while sub.contains(outside):
        outside = darts.sample(np.random.default_rng(1))
    with pytest.raises(ValueError, match="does not contain"):
        net.extract(outside)


# ---------------------------------------------------------------------- training
def test_supernet_loss_falls_on_digits(darts: DartsSpace, digits: ImageData) -> None:
    config = TrainConfig(channels=4, layers=3, epochs=4, batch_size=32, lr=0.05)
    net = train_supernet(darts, conv_subspace(darts), digits, config, progress=False)
    losses = [e["loss"] for e in net.train_log]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5, losses
    ev = SupernetEvaluator(net, digits)
    rng = np.random.default_rng(0)
    accs = [ev.evaluate(net.sample(rng)).val for _ in range(3)]
    assert max(accs) > 30, accs  # chance is 10 %


def test_checkpoint_resume_continues_to_the_same_result(darts: DartsSpace,
                                                        small_digits: ImageData,
                                                        tmp_path: Path) -> None:
    config = TINY.model_copy(update={"epochs": 3})
    whole = train_supernet(darts, None, small_digits, config, tmp_path / "whole", progress=False)

    def stop_after_two(epoch: int, loss: float) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(darts, None, small_digits, config, tmp_path / "cut", progress=False,
                       on_epoch=stop_after_two)
    assert latest_checkpoint(tmp_path / "cut")["epoch"] == 2  # type: ignore[index]
    seen: list[int] = []
    resumed = train_supernet(darts, None, small_digits, config, tmp_path / "cut",
                             progress=False, on_epoch=lambda e, _: seen.append(e))
    assert seen == [3] and [e["epoch"] for e in resumed.train_log] == [1, 2, 3]
    assert [e["loss"] for e in resumed.train_log] == [e["loss"] for e in whole.train_log]
    final = resumed.state_dict()
    for key, value in whole.state_dict().items():
        assert torch.equal(value, final[key]), key
    assert sorted(p.name for p in (tmp_path / "cut").iterdir()) == ["epoch-0002.pt",
                                                                    "epoch-0003.pt"]
    loaded = load_supernet(tmp_path / "cut")  # on the CPU, wherever it was trained
    assert loaded.train_log == resumed.train_log
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, final[key].cpu()), key
    other = config.model_copy(update={"lr": 0.1})
    with pytest.raises(ValueError, match="checkpoint of another training"):
        train_supernet(darts, None, small_digits, other, tmp_path / "cut", progress=False)


def test_evaluator_counts_caches_and_reports_cost(darts: DartsSpace,
                                                  small_digits: ImageData) -> None:
    net = train_supernet(darts, None, small_digits, TINY.model_copy(update={"epochs": 1}),
                         progress=False)
    seen = []
    ev = SupernetEvaluator(net, small_digits, on_evaluation=seen.append)
    arch = net.sample(np.random.default_rng(0))
    first = ev.evaluate(arch)
    again = ev.evaluate(arch)
    assert again is first and ev.n_evals == 1 and len(seen) == 1
    assert 0 <= first.val <= 100 and 0 <= first.test <= 100 and ev.task == "digits"
    # recalibration makes a measurement independent of what was evaluated before
    ev.evaluate(net.sample(np.random.default_rng(5)))
    fresh = SupernetEvaluator(net, small_digits)
    assert fresh.evaluate(arch).val == first.val
    cost = ev.search_cost()
    assert cost["evaluations"] == 2 and cost["supernet_train_s"] > 0
    assert cost["total_s"] == pytest.approx(cost["supernet_train_s"] + cost["evaluation_s"])


def test_train_from_scratch_reports_accuracy_and_parameters(darts: DartsSpace,
                                                            small_digits: ImageData) -> None:
    arch = darts.sample(np.random.default_rng(2), darts.without_none())
    out = train_from_scratch(arch, small_digits, epochs=1, config=TINY.model_copy(
        update={"drop_path": 0.2}), progress=False)
    assert set(out) >= {"test_acc", "val_acc", "params", "seconds", "epochs"}
    assert out["epochs"] == 1 and out["params"] > 1000 and 0 <= out["test_acc"] <= 100


def test_bad_configs_are_refused(darts: DartsSpace, small_digits: ImageData) -> None:
    with pytest.raises(ValueError, match="layers"):
        TrainConfig(layers=2)
    with pytest.raises(ValueError, match="the supernet covers the 'darts' space"):
        train_supernet(get_space("nb201"), None, small_digits, TINY, progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            train_supernet(darts, None, small_digits, TINY.model_copy(update={"device": "cuda"}),
                           progress=False)


def test_session_entry_points(darts: DartsSpace, tmp_path: Path) -> None:
    from lapt.tools.supernet import SupernetSettings, make_supernet_evaluator, train_final

    settings = SupernetSettings(width=4, cells=3, epochs=1, batch_size=64, lr=0.025,
                                device="cpu", final_width=4, final_cells=3, final_epochs=1)
    ev = make_supernet_evaluator("digits", settings, conv_subspace(darts), tmp_path / "sn",
                                 progress=False)
    assert ev.task == "digits" and (tmp_path / "sn" / "epoch-0001.pt").is_file()
    again = make_supernet_evaluator("digits", settings, conv_subspace(darts), tmp_path / "sn",
                                    progress=False)  # reloaded from the checkpoint
    assert again.supernet.train_log == ev.supernet.train_log
    arch = ev.supernet.sample(np.random.default_rng(0))
    assert again.evaluate(arch).val == ev.evaluate(arch).val
    out = train_final(arch, "digits", settings, tmp_path)
    assert out["final_epochs"] == 1 and out["final_params"] > 0
    assert (tmp_path / "final" / "digits" / "epoch-0001.pt").is_file()
    settings.final_epochs = 0
    assert train_final(arch, "digits", settings, tmp_path) == {}
