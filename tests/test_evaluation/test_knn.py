"""The kNN evaluation of the demo: weighted kNN votes with known values and
the backbone features it classifies (class token, mean patch token)."""
import pytest
import torch

from mmmgc.evaluation import extract_features, knn_classify, knn_top1


def test_knn_known_values():
    train = torch.tensor([[1., 0.], [0.9, 0.1], [0., 1.], [0.1, 0.9]])
    labels = torch.tensor([0, 0, 1, 1])
    test = torch.tensor([[1., 0.05], [0.05, 1.]])
    scores = knn_classify(
        train, labels, test, num_classes=2, k=2, temperature=0.1)
    assert scores.argmax(1).tolist() == [0, 1]
    # k=2 votes come only from the two nearest (same-class) samples
    assert scores[0, 1] == 0 and scores[1, 0] == 0
    # weights are exp(cos / T)
    cos = torch.nn.functional.cosine_similarity(test[:1], train[:2])
    assert torch.allclose(scores[0, 0], (cos / 0.1).exp().sum())
    assert knn_top1(train, labels, train, labels, 2, k=1) == 100.0
    with pytest.raises(ValueError, match='k must be'):
        knn_classify(train, labels, test, 2, k=5)


def test_extract_features_cls_and_avg():

    class Tokens(torch.nn.Module):

        def forward(self, x):
            b = x.shape[0]
            tokens = torch.arange(3 * 2.).view(1, 3, 2).repeat(b, 1, 1)
            return (tokens, )

    x = torch.zeros(5, 3, 8, 8)
    cls = extract_features(Tokens(), x, 'cls')
    avg = extract_features(Tokens(), x, 'avg')
    assert cls.tolist() == [[0., 1.]] * 5
    assert avg.tolist() == [[3., 4.]] * 5  # mean of tokens 1 and 2
    both = extract_features(Tokens(), x, 'cls+avg', batch_size=2)
    assert both.shape == (5, 4)
