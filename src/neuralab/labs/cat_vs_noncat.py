"""Narrative of the cat-vs-noncat lab (the overfitting chapter's exercise), English and Portuguese.

In Portuguese also the texts of ``cat_vs_noncat.toml`` that reports show, by the keys of
:func:`neuralab.labs.registry.lab_file_texts` (their English is the lab file's own).
"""

from __future__ import annotations

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "intro": (
            "<p>The chapter's exercise: the same overfitting study on 64x64 photos, cat or not "
            "cat (209 training images, 50 test images). Dense networks of growing size reach "
            "100% on the training images quickly while the test cross-entropy climbs: with "
            "12,288 inputs and 209 examples, they memorise. L2 and dropout slow that down. "
            "Each model's precision, recall and F1 are in its evaluation.</p>"
        ),
        "models": "Cross-entropy and accuracy of every model: training solid, test (used for "
        "validation, as in the exercise) dashed.",
    },
    "pt": {
        # The lab file's texts (their English is in cat_vs_noncat.toml).
        "title": "Overfitting com imagens de gatos e não gatos",
        "description": "O exercício: redes densas pequena, média e grande, depois a grande com "
        "L2 e dropout.",
        "small.title": "Small (pequena): Flatten -> Dense(128, relu) -> Dense(1)",
        "medium.title": "Medium (média): Flatten -> Dense(256, relu) x 3 -> Dense(1)",
        "large.title": "Large (grande): Flatten -> Dense(1024, relu) x 4 -> Dense(1)",
        "regularized.title": "Large com L2 (0.0001) e dropout (0.5), elu",
        "models.title": "Gato ou não gato: todos os modelos",
        # The narrative.
        "intro": (
            "<p>O exercício do capítulo: o mesmo estudo de overfitting com fotos 64x64, gato ou "
            "não gato (209 imagens de treino, 50 de teste). Redes densas cada vez maiores chegam "
            "a 100% no treino rapidamente enquanto a entropia cruzada de teste sobe: com 12.288 "
            "entradas e 209 exemplos, elas decoram. L2 e dropout freiam isso. Precisão, "
            "revocação e F1 de cada modelo estão na sua avaliação.</p>"
        ),
        "models": "Entropia cruzada e acurácia de todos os modelos: treino contínuo, teste "
        "(usado como validação, como no exercício) tracejado.",
    },
}
