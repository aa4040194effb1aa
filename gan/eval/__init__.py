"""How samples are judged: the evaluator (evaluator.py), the feature networks it scores in (classifier.py, a
folder's self-supervised folder_features.py; gan/features.py builds and caches them) and the metrics: gaussian.py,
mixture.py, image.py (FID, KID, class figures, standard Inception FID) and prdc.py (precision/recall/density/coverage).
"""
