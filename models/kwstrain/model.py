"""The keyword model: a small temporal-convolution DS-CNN over log-mel windows.

Mel bins are channels and time is the convolution axis (TC-ResNet / DS-CNN
class): one strided convolution, then depthwise-separable blocks, a flatten
(keeps "where in the window", so the model learns "keyword just ended") and
a softmax over ``none`` + keywords. Input is normalized inside the model with
constants from the training set, so the device feeds raw log-mel.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelShape:
    window_frames: int = 100
    mel_bins: int = 40
    stem_channels: int = 64
    block_channels: tuple[int, ...] = (64, 64, 96, 96)
    block_strides: tuple[int, ...] = (2, 1, 2, 1)
    kernel_frames: int = 5
    dense_units: int = 64
    dropout: float = 0.2
    freq_mask_bins: int = 6  # SpecAugment during training only (0 = off)
    time_mask_frames: int = 12


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


def build_model(num_classes: int, mean: float, std: float, shape: ModelShape = ModelShape()):
    """Keras model: ``(window_frames, mel_bins)`` float -> ``num_classes`` logits."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(shape.window_frames, shape.mel_bins), name="log_mel")
    x = layers.Rescaling(1.0 / std, offset=-mean / std, name="normalize")(inputs)
    if shape.freq_mask_bins or shape.time_mask_frames:
        x = _spec_augment_layer(shape.freq_mask_bins, shape.time_mask_frames)(x)
    x = layers.Conv1D(shape.stem_channels, shape.kernel_frames, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for channels, stride in zip(shape.block_channels, shape.block_strides):
        x = layers.DepthwiseConv1D(shape.kernel_frames, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv1D(channels, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Conv1D(32, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(shape.dropout)(x)
    x = layers.Dense(shape.dense_units, activation="relu")(x)
    # logits, not softmax: int8 softmax outputs (steps of 1/256) cannot resolve the
    # 0.99+ scores where a low false-accept threshold lives; the runtime applies softmax
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="lineguard_kws")
