"""The keyword model: a small temporal-convolution DS-CNN over log-mel windows.

Mel bins are channels and time is the convolution axis (TC-ResNet / DS-CNN
class): one strided convolution, then depthwise-separable blocks, a flatten
(keeps "where in the window", so the model learns "keyword just ended") and
a softmax over ``none`` + keywords. Input is normalized inside the model with
constants from the training set, so the device feeds raw log-mel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lineguard.kws.features import FeatureConfig, hz_to_mel, mel_edges, mel_to_hz


@dataclass(frozen=True)
class ModelShape:
    window_frames: int = 100
    mel_bins: int = 40
    stem_channels: int = 64
    block_channels: tuple[int, ...] = (64, 64, 96, 96)
    block_strides: tuple[int, ...] = (2, 1, 2, 1)
    kernel_frames: int = 5
    head_channels: int = 32  # the pointwise convolution before the flatten
    dense_units: int = 64
    dropout: float = 0.2
    freq_mask_bins: int = 6  # SpecAugment during training only (0 = off)
    time_mask_frames: int = 12
    # speaker and handset augmentation during training only (0 = off): the mel axis is
    # warped by a random vocal-tract factor in [1 - warp, 1 + warp] (VTLP), and a random
    # spectral tilt (+-tilt_db across the band) plus one random bump (+-bump_db) models
    # handset and line frequency responses
    warp: float = 0.12
    # and, on top of the warp, the formant regions moved apart from each other (0 = off): the mel axis is
    # remapped piecewise-linearly through knots at 0, 1/4, 1/2, 3/4 and all of it, the three inner knots
    # moved by up to this many bins each; a vowel's F1 and F2 shift by different amounts, as they do from
    # one speaker or dialect to the next (a uniform vocal-tract warp moves them together)
    formant_jitter: float = 0.0
    tilt_db: float = 6.0
    bump_db: float = 6.0
    augment_prob: float = 0.8


def _spec_augment_layer(freq_mask_bins: int, time_mask_frames: int):
    """SpecAugment (one frequency and one time mask per example), identity at inference."""
    import keras
    import tensorflow as tf

    class SpecAugment(keras.layers.Layer):
        def call(self, x, training=None):
            if not training:
                return x
            batch, frames, bins = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]

            def mask(size, width_max, axis_len):
                width = tf.random.uniform([batch, 1], 0, width_max + 1, dtype=tf.int32)
                start = tf.random.uniform([batch, 1], 0, 1, dtype=tf.float32) * tf.cast(axis_len - width, tf.float32)
                pos = tf.range(axis_len)[None, :]
                start = tf.cast(start, tf.int32)
                return tf.cast((pos < start) | (pos >= start + width), x.dtype)

            keep_f = mask(bins, freq_mask_bins, bins)[:, None, :]
            keep_t = mask(frames, time_mask_frames, frames)[:, :, None]
            return x * keep_f * keep_t

    return SpecAugment(name="spec_augment")


WARP_STEPS = 33


def warp_positions(warp: float, steps: int = WARP_STEPS, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Fractional source bin of every mel bin for ``steps`` warp factors in
    ``[1 - warp, 1 + warp]``: bin ``b`` of the warped spectrum takes the energy
    the original had at ``f_b / alpha`` (a longer or shorter vocal tract)."""
    edges = mel_edges(config)
    centres_hz, step = mel_to_hz(edges[1:-1]), edges[1] - edges[0]
    alphas = np.linspace(1.0 - warp, 1.0 + warp, steps)
    source_mel = hz_to_mel(centres_hz[None, :] / alphas[:, None])
    return np.clip((source_mel - edges[1]) / step, 0.0, config.mel_bins - 1).astype(np.float32)


JITTER_TABLES = 512


def warp_bank(warp: float, jitter: float = 0.0, tables: int = JITTER_TABLES, seed: int = 0,
              config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The warp tables training draws from: :func:`warp_positions` when ``jitter`` is 0; otherwise ``tables``
    tables, each a random vocal-tract warp (as :func:`warp_positions`) read through a random piecewise-linear
    remap of the mel axis whose three inner knots (at 1/4, 1/2, 3/4 of it) move by up to ``jitter`` bins."""
    linear = warp_positions(warp, config=config)
    if jitter <= 0.0:
        return linear
    bins = config.mel_bins
    rng = np.random.default_rng(seed)
    grid = np.arange(bins, dtype=np.float64)
    knots = np.linspace(0.0, bins - 1, 5)
    out = np.empty((tables, bins), np.float32)
    for i in range(tables):
        moved = knots + rng.uniform(-jitter, jitter, 5) * np.array([0.0, 1.0, 1.0, 1.0, 0.0])
        moved = np.maximum.accumulate(np.clip(moved, 0.0, bins - 1))  # stays monotonic
        through = np.interp(grid, knots, moved)  # output bin b reads the warped spectrum at through[b]
        out[i] = np.interp(through, grid, linear[rng.integers(len(linear))])
    return out


def speaker_augment_layer(shape: ModelShape):
    """VTLP-style mel warp (with ``formant_jitter``, drawn from :func:`warp_bank`) plus a random spectral
    tilt and bump, on raw log-mel (natural log of power), training only; identity at inference."""
    import keras
    import tensorflow as tf

    bank = warp_bank(shape.warp, shape.formant_jitter)
    positions = tf.constant(bank)
    db_to_ln = float(np.log(10.0) / 10.0)
    bins = shape.mel_bins

    class SpeakerAugment(keras.layers.Layer):
        def call(self, x, training=None):
            if not training:
                return x
            batch = tf.shape(x)[0]
            pick = tf.random.uniform([batch], 0, len(bank), dtype=tf.int32)
            pos = tf.gather(positions, pick)  # (batch, bins)
            lo = tf.cast(tf.floor(pos), tf.int32)
            hi = tf.minimum(lo + 1, bins - 1)
            frac = (pos - tf.cast(lo, tf.float32))[:, None, :]
            warped = (1.0 - frac) * tf.gather(x, lo, axis=2, batch_dims=1) + frac * tf.gather(x, hi, axis=2, batch_dims=1)
            use_warp = tf.cast(tf.random.uniform([batch, 1, 1]) < shape.augment_prob, x.dtype)
            x = use_warp * warped + (1.0 - use_warp) * x
            b = tf.range(bins, dtype=tf.float32)[None, :] / float(bins - 1)
            tilt = tf.random.uniform([batch, 1], -shape.tilt_db, shape.tilt_db) * (b - 0.5) * 2.0
            centre = tf.random.uniform([batch, 1], 0.0, 1.0)
            width = tf.random.uniform([batch, 1], 0.05, 0.25)
            bump = tf.random.uniform([batch, 1], -shape.bump_db, shape.bump_db) * tf.exp(-0.5 * ((b - centre) / width) ** 2)
            use_eq = tf.cast(tf.random.uniform([batch, 1]) < shape.augment_prob, tf.float32)
            return x + (use_eq * (tilt + bump) * db_to_ln)[:, None, :]

    return SpeakerAugment(name="speaker_augment")


def build_model(num_classes: int, mean: float, std: float, shape: ModelShape = ModelShape(),
                batch_norm: bool = True):
    """Keras model: ``(window_frames, mel_bins)`` float -> ``num_classes`` logits.

    ``batch_norm=False`` builds the same network with each batch normalization folded
    into its convolution's bias, as TFLite stores it: the form :func:`from_tflite`
    fills with a shipped model's weights, to continue training it."""
    import keras
    from keras import layers

    def norm_relu(x):
        if batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input(shape=(shape.window_frames, shape.mel_bins), name="log_mel")
    x = inputs
    if shape.warp or shape.formant_jitter or shape.tilt_db or shape.bump_db:
        x = speaker_augment_layer(shape)(x)
    x = layers.Rescaling(1.0 / std, offset=-mean / std, name="normalize")(x)
    if shape.freq_mask_bins or shape.time_mask_frames:
        x = _spec_augment_layer(shape.freq_mask_bins, shape.time_mask_frames)(x)
    x = norm_relu(layers.Conv1D(shape.stem_channels, shape.kernel_frames, strides=2, padding="same",
                                use_bias=not batch_norm)(x))
    for channels, stride in zip(shape.block_channels, shape.block_strides):
        x = norm_relu(layers.DepthwiseConv1D(shape.kernel_frames, strides=stride, padding="same",
                                             use_bias=not batch_norm)(x))
        x = norm_relu(layers.Conv1D(channels, 1, use_bias=not batch_norm)(x))
    x = norm_relu(layers.Conv1D(shape.head_channels, 1, use_bias=not batch_norm)(x))
    x = layers.Flatten()(x)
    x = layers.Dropout(shape.dropout)(x)
    x = layers.Dense(shape.dense_units, activation="relu")(x)
    # logits, not softmax: int8 softmax outputs (steps of 1/256) cannot resolve the
    # 0.99+ scores where a low false-accept threshold lives; the runtime applies softmax
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="lineguard_kws")


def _dequantized(interp, index: int) -> np.ndarray:
    detail = interp._get_tensor_details(index, 0)
    q = detail["quantization_parameters"]
    raw = interp.get_tensor(index).astype(np.float32)
    if not len(q["scales"]):
        return raw
    if len(q["scales"]) == 1:
        return (raw - float(q["zero_points"][0])) * float(q["scales"][0])
    shape = [1] * raw.ndim
    shape[q["quantized_dimension"]] = -1
    scales, zeros = np.asarray(q["scales"], np.float32), np.asarray(q["zero_points"], np.float32)
    scales, zeros = scales.reshape(shape), zeros.reshape(shape)
    return (raw - zeros) * scales


def from_tflite(path, shape: ModelShape = ModelShape()):
    """A trainable float Keras model (``batch_norm=False``) holding the weights of an
    int8 model exported by :func:`kwstrain.train.quantize` (dequantized; batch norms
    are already folded into the biases). Returns ``(model, mean, std)``. The widths (stem, blocks,
    head, dense) are the file's; the rest of ``shape`` (the number of blocks among it) must match it."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    ops = interp._get_ops_details()
    first = {name: next(op for op in ops if op["op_name"] == name) for name in ("MUL", "ADD")}  # the normalize layer
    scale = float(_dequantized(interp, int(first["MUL"]["inputs"][1])).ravel()[0])
    offset = float(_dequantized(interp, int(first["ADD"]["inputs"][1])).ravel()[0])
    std, mean = 1.0 / scale, -offset / scale
    convs = [op for op in ops if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    dense = [op for op in ops if op["op_name"] == "FULLY_CONNECTED"]
    num_classes = int(interp._get_tensor_details(int(dense[-1]["outputs"][0]), 0)["shape"][-1])
    pointwise = [op for op in convs if op["op_name"] == "CONV_2D"]  # the stem, one per block, the head

    def width(op) -> int:
        return int(interp._get_tensor_details(int(op["inputs"][1]), 0)["shape"][0])

    if len(pointwise) == len(shape.block_channels) + 2 and len(dense) == 2:
        # the widths are read from the file: narrow, widened and grown models load alike
        shape = replace(shape, stem_channels=width(pointwise[0]),
                        block_channels=tuple(width(op) for op in pointwise[1:-1]), head_channels=width(pointwise[-1]),
                        dense_units=int(interp._get_tensor_details(int(dense[0]["outputs"][0]), 0)["shape"][-1]))
    model = build_model(num_classes, mean, std, shape, batch_norm=False)
    import keras

    layers = [layer for layer in model.layers
              if isinstance(layer, (keras.layers.Conv1D, keras.layers.DepthwiseConv1D, keras.layers.Dense))]
    if len(layers) != len(convs) + len(dense):
        raise ValueError(f"{path}: {len(convs)} convolutions + {len(dense)} dense layers, "
                         f"the network of this shape has {len(layers)} such layers")
    for layer, op in zip(layers, convs + dense):
        weight = _dequantized(interp, int(op["inputs"][1]))
        bias = _dequantized(interp, int(op["inputs"][2]))
        if op["op_name"] == "CONV_2D":  # [out, 1, k, in] -> (k, in, out)
            kernel = weight[:, 0].transpose(1, 2, 0)
        elif op["op_name"] == "DEPTHWISE_CONV_2D":  # [1, 1, k, channels] -> (k, channels, 1)
            kernel = weight[0, 0][:, :, None]
        else:  # [out, in] -> (in, out)
            kernel = weight.T
        expected = tuple(layer.kernel.shape)
        if kernel.shape != expected:
            raise ValueError(f"{path}: layer {layer.name} needs a kernel {expected}, the model has {kernel.shape}")
        layer.set_weights([kernel, bias])
    return model, mean, std


def _copy_map(rng, old: int, new: int, uneven: bool) -> tuple[np.ndarray, np.ndarray]:
    """Net2WiderNet's copy map from ``old`` to ``new`` units: unit j of the wider layer copies unit
    ``source[j]`` and carries ``share[j]`` of its outgoing weights (the shares of one unit's copies sum to 1):
    even, or ``uneven`` in random proportions (0.5-1.5, normalized)."""
    source = np.concatenate([np.arange(old), rng.integers(0, old, new - old)])
    weight = rng.uniform(0.5, 1.5, new).astype(np.float32) if uneven else np.ones(new, np.float32)
    return source, weight / np.bincount(source, weights=weight, minlength=old)[source].astype(np.float32)


def widen_head(model, mean: float, std: float, shape: ModelShape, wider: ModelShape, seed: int = 0,
               uneven: bool = False):
    """The same function as ``model`` (from :func:`from_tflite` with ``shape``, which also gives
    ``mean`` and ``std``) in a network with more head channels and dense units (``wider``; all
    else equal): Net2WiderNet, every new unit a copy of an existing one whose outgoing weights
    are shared evenly among the copies. Training then continues from there: dropout after the flatten
    tells the head channels' copies apart, but nothing tells the dense units' copies apart, and they stay
    identical (:func:`merge_copies`; the shipped recipe keeps this step as it ran). ``uneven``: the copies
    share in random proportions instead, and part from the first step (as :func:`widen_body`'s). One ``seed``,
    one copy map: copies widened alike can be souped."""
    if replace(shape, head_channels=wider.head_channels, dense_units=wider.dense_units) != wider:
        raise ValueError("widen_head only widens the head: head_channels and dense_units")
    if wider.head_channels < shape.head_channels or wider.dense_units < shape.dense_units:
        raise ValueError("widen_head cannot narrow a network")
    rng = np.random.default_rng(seed)
    layers = [layer for layer in model.layers if layer.get_weights()]
    target = build_model(layers[-1].get_weights()[0].shape[1], mean, std, wider, batch_norm=False)
    new_layers = [layer for layer in target.layers if layer.get_weights()]
    for old_layer, new_layer in zip(layers[:-3], new_layers[:-3]):
        new_layer.set_weights(old_layer.get_weights())
    (hk, hb), (dk, db), (lk, lb) = (layer.get_weights() for layer in layers[-3:])
    head, head_share = _copy_map(rng, shape.head_channels, wider.head_channels, uneven)
    dense, dense_share = _copy_map(rng, shape.dense_units, wider.dense_units, uneven)
    frames = dk.shape[0] // shape.head_channels
    dk = dk.reshape(frames, shape.head_channels, -1)[:, head] * head_share[None, :, None]
    new_layers[-3].set_weights([hk[..., head], hb[head]])
    new_layers[-2].set_weights([dk.reshape(frames * wider.head_channels, -1)[:, dense], db[dense]])
    new_layers[-1].set_weights([lk[dense] * dense_share[:, None], lb])
    return target


def widen_body(model, mean: float, std: float, shape: ModelShape, wider: ModelShape, seed: int = 0):
    """The same function as ``model`` (from :func:`from_tflite` with ``shape``) in a network with a wider
    stem and wider blocks (``wider``; all else equal): Net2WiderNet, every new channel a copy of an existing
    one. The copies of one channel share its outgoing weights in random proportions, not evenly: evenly
    shared copies get identical gradients and stay copies for good (the dense units :func:`widen_head`
    copied never parted, see :func:`merge_copies`); unevenly shared ones learn apart from the first step."""
    if replace(shape, stem_channels=wider.stem_channels, block_channels=wider.block_channels) != wider:
        raise ValueError("widen_body only widens the stem and the blocks: stem_channels and block_channels")
    old = (shape.stem_channels, *shape.block_channels)
    new = (wider.stem_channels, *wider.block_channels)
    if any(n < o for o, n in zip(old, new)):
        raise ValueError(f"widen_body cannot narrow a network: {old} -> {new} channels")
    rng = np.random.default_rng(seed)
    maps = [_copy_map(rng, o, n, uneven=True) for o, n in zip(old, new)]
    layers = [layer for layer in model.layers if layer.get_weights()]
    target = build_model(layers[-1].get_weights()[0].shape[1], mean, std, wider, batch_norm=False)
    new_layers = [layer for layer in target.layers if layer.get_weights()]
    kernel, bias = layers[0].get_weights()  # the stem
    source, share = maps[0]
    new_layers[0].set_weights([kernel[..., source], bias[source]])
    for block in range(len(shape.block_channels)):
        depthwise, pointwise = layers[1 + 2 * block], layers[2 + 2 * block]
        kernel, bias = depthwise.get_weights()  # one filter per channel: a copy's filter is its source's
        new_layers[1 + 2 * block].set_weights([kernel[:, source], bias[source]])
        kernel, bias = pointwise.get_weights()  # (1, in, out): a copy's share of its source's outgoing weights
        kernel = kernel[:, source] * share[None, :, None]
        source, share = maps[block + 1]
        new_layers[2 + 2 * block].set_weights([kernel[..., source], bias[source]])
    head = 1 + 2 * len(shape.block_channels)
    kernel, bias = layers[head].get_weights()
    new_layers[head].set_weights([kernel[:, source] * share[None, :, None], bias])
    for old_layer, new_layer in zip(layers[head + 1:], new_layers[head + 1:]):
        new_layer.set_weights(old_layer.get_weights())
    return target


def merge_copies(model, mean: float, std: float, shape: ModelShape):
    """The same function as ``model`` (from :func:`from_tflite` with ``shape``) with the hidden dense
    layer's identical units merged, each group into one that carries the group's outgoing weights summed.
    :func:`widen_head` shares a copied unit's outgoing weights evenly, so its dense copies get identical
    gradients and never part: v51 holds 32 such copies, 20,608 weights that compute nothing new.
    Returns ``(model, shape)``, ``shape`` with the dense units that are left."""
    layers = [layer for layer in model.layers if layer.get_weights()]
    (dense_kernel, dense_bias), (logit_kernel, logit_bias) = (layer.get_weights() for layer in layers[-2:])
    units = np.concatenate([dense_kernel, dense_bias[None]]).T
    _, first, group = np.unique(units, axis=0, return_index=True, return_inverse=True)
    keep = np.sort(first)  # each group's first unit, in the layer's order
    group = np.searchsorted(keep, first[np.ravel(group)])  # each unit's place among those kept
    merged = np.zeros((len(keep), logit_kernel.shape[1]), np.float32)
    np.add.at(merged, group, logit_kernel)
    narrower = replace(shape, dense_units=len(keep))
    target = build_model(logit_kernel.shape[1], mean, std, narrower, batch_norm=False)
    new_layers = [layer for layer in target.layers if layer.get_weights()]
    for old_layer, new_layer in zip(layers[:-2], new_layers[:-2]):
        new_layer.set_weights(old_layer.get_weights())
    new_layers[-2].set_weights([dense_kernel[:, keep], dense_bias[keep]])
    new_layers[-1].set_weights([merged, logit_bias])
    return target, narrower


def shape_of(model, shape: ModelShape = ModelShape()) -> ModelShape:
    """``shape`` with the widths of the Keras ``model`` (as built by :func:`build_model`): stem, blocks,
    head and dense units."""
    import keras

    convs = [layer for layer in model.layers if type(layer) is keras.layers.Conv1D]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return replace(shape, stem_channels=int(convs[0].filters),
                   block_channels=tuple(int(layer.filters) for layer in convs[1:-1]),
                   head_channels=int(convs[-1].filters), dense_units=int(dense[0].units))
