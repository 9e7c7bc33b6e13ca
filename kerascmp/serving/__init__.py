"""Shipping a trained model: the SavedModel export and its metadata (`export`), and the inputs predict
reads (`inputs`: PNG/JPEG/BMP/GIF digits and .npz pairs).
"""
