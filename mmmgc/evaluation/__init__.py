from .knn import extract_features, knn_classify, knn_top1

__all__ = ['extract_features', 'knn_classify', 'knn_top1']
