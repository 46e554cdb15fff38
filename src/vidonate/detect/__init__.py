"""The theft detector: features, model, training, inference and its evaluation.

- :mod:`~vidonate.detect.features`: video -> small grey frames on a 10 fps clock
- :mod:`~vidonate.detect.gate`: the motion gate that skips still stretches
- :mod:`~vidonate.detect.model`: the network (per-frame CNN + dilated temporal CNN)
- :mod:`~vidonate.detect.dataset`: labelled clips, the feature cache, the validation split
- :mod:`~vidonate.detect.train`: training, single-process or under torchrun (DDP, gloo)
- :mod:`~vidonate.detect.export`, :mod:`~vidonate.detect.calibrate`: model.onnx, threshold
- :mod:`~vidonate.detect.infer`: ``Detector`` on onnxruntime (no PyTorch needed)
- :mod:`~vidonate.detect.events`: per-frame probabilities -> events in time
- :mod:`~vidonate.detect.annotate`: events drawn onto the clip
- :mod:`~vidonate.detect.evaluation`, :mod:`~vidonate.detect.report`: metrics and report

Nothing is imported here, so that inference never loads PyTorch.
"""
