"""Tests for course_utils.pipeline: the tf.data pipeline and its stage-by-stage trace."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils.augment import make_augmenter
from course_utils.models import build_course_cnn
from course_utils.pipeline import build_pipeline, plot_data_flow, trace_pipeline

L = keras.layers


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    """100 images whose pixels all equal their label, so pairs can be checked after shuffling."""
    labels = np.arange(100, dtype=np.int64)
    images = np.broadcast_to(labels[:, None, None, None], (100, 8, 8, 3)).astype(np.uint8)
    return images, labels


def first_batch(dataset: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    x, y = next(iter(dataset))
    return x.numpy(), y.numpy()


# ---------------------------------------------------------------------------
# build_pipeline


def test_batches_cover_every_example_once_and_keep_image_label_pairs(data):
    images, labels = data
    batches = list(build_pipeline(images, labels, batch_size=32))
    assert [int(x.shape[0]) for x, _ in batches] == [32, 32, 32, 4]
    seen = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(np.sort(seen), labels)
    assert not np.array_equal(seen, labels)  # shuffled
    for x, y in batches:
        assert x.dtype == tf.uint8 and y.dtype == tf.int64  # uint8 until augmentation
        np.testing.assert_array_equal(x.numpy()[:, 0, 0, 0], y.numpy())


def test_without_shuffle_the_order_is_kept(data):
    images, labels = data
    _, y = first_batch(build_pipeline(images, labels, batch_size=10, shuffle=False))
    np.testing.assert_array_equal(y, np.arange(10))


def test_same_seed_same_first_batch_including_augmentation():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 8, 8, 3), dtype=np.uint8)
    labels = rng.integers(0, 5, 64)
    augmenter = make_augmenter(zoom=0.1)
    first = first_batch(build_pipeline(images, labels, augmenter, batch_size=16, seed=3))
    again = first_batch(build_pipeline(images, labels, augmenter, batch_size=16, seed=3))
    other = first_batch(build_pipeline(images, labels, augmenter, batch_size=16, seed=4))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    plain = first_batch(build_pipeline(images, labels, None, batch_size=16, seed=3))
    np.testing.assert_array_equal(plain[1], first[1])  # same shuffle order...
    assert not np.allclose(plain[0], first[0])  # ...but augmented


def test_a_keras_pipeline_augmenter_is_seeded_like_the_same_layers_in_a_sequential():
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (40, 12, 12, 3), dtype=np.uint8)
    labels = np.arange(40)

    def layers():
        return [L.RandomFlip("horizontal"), L.RandomRotation(0.2), L.RandomBrightness(0.3)]

    pipeline = L.Pipeline(layers())
    first = first_batch(build_pipeline(images, labels, pipeline, batch_size=8, seed=7))
    again = first_batch(build_pipeline(images, labels, pipeline, batch_size=8, seed=7))
    sequential = first_batch(
        build_pipeline(images, labels, keras.Sequential(layers()), batch_size=8, seed=7)
    )
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[0], sequential[0])  # same layers, same seed, same pixels
    assert first[0].dtype == np.float32 and not np.allclose(first[0], images[first[1]])
    nested = L.Pipeline([L.Pipeline(layers()[:1]), *layers()[1:]])
    np.testing.assert_array_equal(
        first_batch(build_pipeline(images, labels, nested, batch_size=8, seed=7))[0], first[0]
    )


def test_each_epoch_gets_a_new_order_and_new_augmentation():
    images = np.random.default_rng(1).integers(0, 256, (48, 8, 8, 3), dtype=np.uint8)
    dataset = build_pipeline(images, np.arange(48), make_augmenter(), batch_size=16, seed=0)
    epoch1, epoch2 = first_batch(dataset), first_batch(dataset)
    assert not np.array_equal(epoch1[1], epoch2[1])
    assert not np.array_equal(epoch1[0], epoch2[0])


def test_augmented_batches_are_float_on_the_0_255_scale(data):
    images, labels = data
    x, _ = first_batch(build_pipeline(images, labels, make_augmenter(), batch_size=8))
    assert x.dtype == np.float32 and x.shape == (8, 8, 8, 3)
    assert 0 <= x.min() and x.max() <= 255


def test_augmentation_runs_in_a_parallel_map_after_batching(data):
    images, labels = data
    dataset = build_pipeline(images, labels, make_augmenter(), batch_size=8)
    stages = []
    node = dataset
    while node is not None:
        stages.append(type(node).__name__)
        inputs = node._inputs()
        node = inputs[0] if inputs else None
    assert stages[:3] == ["_PrefetchDataset", "_ParallelMapDataset", "_ZipDataset"]
    assert "_BatchDataset" in stages and "_ShuffleDataset" in stages


def test_unseeded_augmentation_still_works(data):
    images, labels = data
    x, _ = first_batch(build_pipeline(images, labels, make_augmenter(), batch_size=4, seed=None))
    assert x.shape == (4, 8, 8, 3)


def test_the_source_arrays_are_never_modified():
    images = np.random.default_rng(2).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(20)
    before = images.copy(), labels.copy()
    list(build_pipeline(images, labels, make_augmenter(), batch_size=5))
    np.testing.assert_array_equal(images, before[0])
    np.testing.assert_array_equal(labels, before[1])


def test_model_trains_on_the_pipeline_with_a_uint8_validation_pipeline():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, 64)
    keras.utils.set_random_seed(0)
    model = build_course_cnn((16, 16, 3), num_classes=3)
    train = build_pipeline(images[:48], labels[:48], make_augmenter(), batch_size=16)
    val = build_pipeline(images[48:], labels[48:], shuffle=False, batch_size=16)
    # The pipeline shuffles; shuffle=False only stops Keras warning that it ignores the flag.
    history = model.fit(train, validation_data=val, epochs=1, verbose=0, shuffle=False)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_eager_tensors_and_grayscale_without_channel_axis_are_accepted():
    images = tf.zeros((10, 6, 6), tf.uint8)
    x, y = first_batch(build_pipeline(images, tf.range(10), batch_size=4))
    assert x.shape == (4, 6, 6, 1) and y.dtype == np.int64


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"images": None}, TypeError, "images must be an image array"),
        ({"images": np.full((4, 8, 8, 3), np.nan)}, ValueError, "images must be finite"),
        ({"images": np.zeros((8, 8))}, ValueError, r"images must have shape \(N, H, W, C\)"),
        ({"labels": np.zeros(3)}, ValueError, r"one label per image \(4\)"),
        ({"augmenter": "flip"}, TypeError, "augmenter must be a keras Layer"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
    ],
)
def test_build_pipeline_rejects_bad_arguments(kwargs, error, words):
    arguments = {"images": np.zeros((4, 8, 8, 3), np.uint8), "labels": np.zeros(4, int)}
    arguments.update(kwargs)
    with pytest.raises(error, match=words):
        build_pipeline(**arguments)


# ---------------------------------------------------------------------------
# trace_pipeline


@pytest.fixture(scope="module")
def seed_trace():
    """The course's setting: 1000 images of 32x32x3, augmentation, batches of 32, the CNN."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 1000)
    keras.utils.set_random_seed(0)
    model = build_course_cnn((32, 32, 3), num_classes=10)
    return trace_pipeline(images, labels, make_augmenter(), model, batch_size=32, seed=0)


def test_trace_lists_the_stages_in_the_order_the_pipeline_runs_them(seed_trace):
    assert seed_trace.names == [
        "Original dataset",
        "Shuffle and batch",
        "Data augmentation",
        "Prefetch",
        "Model",
    ]
    assert [(s.input_shape, s.output_shape) for s in seed_trace.stages] == [
        ((1000, 32, 32, 3), (1000, 32, 32, 3)),
        ((1000, 32, 32, 3), (32, 32, 32, 3)),
        ((32, 32, 32, 3), (32, 32, 32, 3)),  # augmentation works on batches, never on all 1000
        ((32, 32, 32, 3), (32, 32, 32, 3)),
        ((32, 32, 32, 3), (32, 10)),
    ]
    assert [s.dtype for s in seed_trace.stages] == [
        "uint8",
        "uint8",  # still the original pixels after batching
        "float32",
        "float32",
        "float32",
    ]
    assert [s.call for s in seed_trace.stages] == [
        "Dataset.from_tensor_slices((images, labels))",
        "shuffle(1000, seed=0).batch(32)",
        "map(augment, num_parallel_calls=AUTOTUNE)",
        "prefetch(AUTOTUNE)",
        "model(batch)",
    ]
    assert seed_trace.batches_per_epoch == 32
    assert "the last one 8" in seed_trace.stages[1].operation
    assert "flip, rotation, brightness" in seed_trace.stages[2].operation
    model_stage = seed_trace.stages[4]
    assert "10 class probabilities per image" in model_stage.operation
    low, high = model_stage.value_range
    assert 0 <= low <= high <= 1


def test_trace_stage_order_matches_the_datasets_own_chain(seed_trace):
    """Walk the traced tf.data graph from the source: the trace's order is the graph's."""
    node, chain = seed_trace.dataset, []
    while node is not None:
        chain.append(type(node).__name__)
        inputs = node._inputs()
        node = inputs[0] if inputs else None
    chain.reverse()
    positions = [
        chain.index(name)
        for name in [
            "_TensorSliceDataset",
            "_ShuffleDataset",
            "_BatchDataset",
            "_ParallelMapDataset",
            "_PrefetchDataset",
        ]
    ]
    assert positions == sorted(positions)


def test_trace_measures_the_real_first_batch_before_and_after_augmentation(seed_trace):
    rng = np.random.default_rng(0)  # the same data and seed as the fixture
    images = rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 1000)
    x, y = first_batch(build_pipeline(images, labels, make_augmenter(), batch_size=32, seed=0))
    plain, plain_labels = first_batch(build_pipeline(images, labels, None, batch_size=32, seed=0))
    np.testing.assert_array_equal(plain_labels, y)  # the same shuffle order
    batched, augmented, prefetched = seed_trace.stages[1:4]
    assert batched.value_range == (float(plain.min()), float(plain.max()))
    np.testing.assert_array_equal(batched.pictures, plain[:6])
    assert batched.example.startswith(f"first batch, labels [{y[0]}, {y[1]}")
    assert augmented.value_range == prefetched.value_range == (float(x.min()), float(x.max()))
    np.testing.assert_array_equal(prefetched.pictures, x[:6])
    assert augmented.pictures.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(augmented.pictures[:3], plain[:3])
    np.testing.assert_array_equal(augmented.pictures[3:], x[:3])


def test_trace_shows_itself_as_text_markdown_and_html(seed_trace):
    text = str(seed_trace)
    assert text.splitlines()[0] == "Data flow: 5 stages"
    assert "1000 x 32x32x3" in text and "32 x 10" in text
    markdown = seed_trace.to_markdown()
    assert markdown.splitlines()[0].startswith("| # | Stage | Code | Input | Operation |")
    html = seed_trace._repr_html_()
    assert html.count("<img") == 1 + 6 + 6 + 6
    assert "<code>shuffle(1000, seed=0).batch(32)</code>" in html
    assert "32 batches per epoch" in html
    assert len(seed_trace) == 5


def test_data_flow_diagram_has_one_box_per_stage_and_arrows_between(seed_trace):
    fig = plot_data_flow(seed_trace)
    (ax,) = fig.axes
    boxes = ax.texts[: len(seed_trace)]
    assert len(ax.texts) == len(seed_trace)
    assert [t.get_text().splitlines()[0] for t in boxes] == [
        f"{i}. {name}" for i, name in enumerate(seed_trace.names, start=1)
    ]
    assert "32 x 32x32x3\nuint8, 0 to 255" in boxes[1].get_text()
    assert "\n.batch(32)" in boxes[1].get_text()
    assert "32 x 10\nfloat32" in boxes[4].get_text()
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == len(seed_trace) - 1
    assert "32 batches per epoch" in ax.get_title()
    again = plot_data_flow(seed_trace, fig=fig)
    assert again is fig and len(fig.axes) == 1


def test_data_flow_diagram_rejects_other_objects():
    with pytest.raises(TypeError, match="trace must be a PipelineTrace"):
        plot_data_flow([1, 2])
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure"):
        trace = trace_pipeline(np.zeros((4, 8, 8, 3), np.uint8), np.zeros(4, int), batch_size=2)
        plot_data_flow(trace, fig="figure")


def test_trace_without_augmenter_or_model_has_three_stages(data):
    images, labels = data
    trace = trace_pipeline(images, labels, batch_size=50)
    assert trace.names == ["Original dataset", "Shuffle and batch", "Prefetch"]
    assert [s.dtype for s in trace.stages] == ["uint8", "uint8", "uint8"]
    assert "the last one" not in trace.stages[1].operation
    assert trace.stages[1].operation.endswith("2 batches per epoch")


def test_trace_with_a_model_of_any_input_size_and_raw_outputs(data):
    images, labels = data
    inputs = keras.Input((None, None, 3))
    outputs = L.Dense(2)(L.GlobalAveragePooling2D()(L.Conv2D(2, 3)(inputs)))
    trace = trace_pipeline(images, labels, model=keras.Model(inputs, outputs), batch_size=10)
    stage = trace.stages[-1]
    assert stage.output_shape == (10, 2)
    assert "outputs per image" in stage.operation


def test_trace_builds_a_sequential_model_without_input(data):
    images, labels = data
    model = keras.Sequential([L.Flatten(), L.Dense(12, activation="softmax")])
    trace = trace_pipeline(images, labels, model=model, batch_size=10)
    assert trace.stages[-1].output_shape == (10, 12)
    assert trace.stages[-1].example.endswith(", ...]")


def test_trace_refuses_a_model_of_another_input_size(data):
    images, labels = data
    with pytest.raises(ValueError, match=r"images must be 16x16 for this model; got 8x8"):
        trace_pipeline(images, labels, model=build_course_cnn((16, 16, 3)))


def test_trace_refuses_subclassed_models_and_non_models(data):
    images, labels = data

    class Subclassed(keras.Model):
        def call(self, inputs):
            return inputs

    with pytest.raises(ValueError, match="no defined inputs"):
        trace_pipeline(images, labels, model=Subclassed())
    with pytest.raises(TypeError, match="model must be a keras Model"):
        trace_pipeline(images, labels, model="cnn")


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"images": np.zeros((4, 8, 8, 3)), "labels": np.zeros(5)}, ValueError, "one label"),
        ({"images": None, "labels": np.zeros(5)}, TypeError, "images must be"),
        ({"images": np.zeros((4, 8, 8, 3)), "labels": [0, 1, 2, 9.5]}, TypeError, "whole-number"),
        (
            {"images": np.zeros((4, 8, 8, 3)), "labels": np.zeros(4), "batch_size": -2},
            ValueError,
            "batch_size",
        ),
        (
            {"images": np.zeros((4, 8, 8, 3)), "labels": np.zeros(4), "augmenter": 1},
            TypeError,
            "augmenter",
        ),
    ],
)
def test_trace_pipeline_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        trace_pipeline(**kwargs)


def test_shapes_and_numbers_are_written_the_course_way():
    from course_utils import _display

    assert _display.shape_text((1000, 32, 32, 3)) == "1000 x 32x32x3"
    assert _display.shape_text((None, 10)) == "None x 10"
    assert _display.shape_text((14, 14, 32), rows=False) == "14x14x32"
    assert _display.shape_text(()) == "scalar"
    assert _display.number(None) == "-" and _display.number(float("nan")) == "nan"
    assert _display.number(0.123456) == "0.123"
