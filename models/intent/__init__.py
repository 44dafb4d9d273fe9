"""The trained intent model (intent.onnx, features.json, card.json), written by `warmline train` and shipped
in the wheel as package data."""
