"""Shipping a trained model: the float32 SavedModel and its metadata (`export`), its ONNX and LiteRT
conversions, checked against it (`convert`), each format opened in its runtime (`runtimes`), and the
files predict reads (`inputs`: PNG/JPEG/BMP/GIF digits and .npy pairs).
"""
