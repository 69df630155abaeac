"""Narrative of the higgs-overfitting lab (seeds/overfitting-lab.md), English and Portuguese.

In Portuguese also the texts of ``higgs_overfitting.toml`` that reports show, by the keys of
:func:`neuralab.labs.registry.lab_file_texts` (their English is the lab file's own). The models
keep the tutorial's names (Tiny, Small, Medium, Large, Giant), as the chapter does.
"""

from __future__ import annotations

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "intro": (
            "<p>Overfitting and underfitting, following TensorFlow's tutorial on the HIGGS data: "
            "11,000 rows of 28 physics features read from a CSV.gz (the first 1,000 validate, "
            "the next 10,000 train), models from Tiny (481 parameters) to Giant (3,179,521), "
            "then the Large model with L2, dropout and both. Every model trains with Adam and an "
            "inverse-time learning-rate decay until the validation cross-entropy has not improved "
            "for 200 epochs. Larger models fit the training data sooner and better, and their "
            "validation cross-entropy turns up sooner: the gap between the two curves is "
            "overfitting; L2 and dropout shrink it. The logs are in TensorBoard format: "
            "<code>tensorboard --logdir</code> on this folder.</p>"
        ),
        "sizes": "Validation (dashed) and training (solid) cross-entropy, smoothed over 10 "
        "epochs, log epochs axis, as in the tutorial.",
        "regularizers": "The Large model with regularization, next to Tiny and the plain Large "
        "model.",
    },
    "pt": {
        # The lab file's texts (their English is in higgs_overfitting.toml).
        "title": "Overfitting e underfitting: tamanho do modelo, L2, dropout",
        "description": "O capítulo de overfitting: a escada de tamanhos de modelo no HIGGS, "
        "depois L2, dropout e os dois no modelo Large.",
        "tiny.title": "Tiny (minúsculo): Dense(16, elu) -> Dense(1)",
        "small.title": "Small (pequeno): Dense(16, elu) x 2 -> Dense(1)",
        "medium.title": "Medium (médio): Dense(64, elu) x 3 -> Dense(1)",
        "large.title": "Large (grande): Dense(512, elu) x 4 -> Dense(1)",
        "giant.title": "Giant (gigante): Dense(1024, elu) x 4 -> Dense(1)",
        "l2.title": "Large com L2 (0.001)",
        "dropout.title": "Large com dropout (0.5)",
        "combined.title": "Large com L2 (0.0001) e dropout (0.5)",
        "sizes.title": "Tamanho do modelo: de Tiny a Giant",
        "regularizers.title": "Regularização do modelo Large",
        # The narrative.
        "intro": (
            "<p>Overfitting e underfitting, como no tutorial do TensorFlow com os dados HIGGS: "
            "11.000 linhas de 28 atributos lidas de um CSV.gz (as primeiras 1.000 validam, as "
            "10.000 seguintes treinam), modelos de Tiny (481 parâmetros) a Giant (3.179.521), "
            "depois o modelo Large com L2, dropout e os dois. Todos treinam com Adam e decaimento "
            "da taxa de aprendizado até a entropia cruzada de validação parar de melhorar por 200 "
            "épocas. Modelos maiores ajustam o treino mais cedo e melhor, e a entropia cruzada de "
            "validação volta a subir mais cedo: a distância entre as curvas é o overfitting; L2 e "
            "dropout a reduzem. Os logs estão no formato do TensorBoard: "
            "<code>tensorboard --logdir</code> nesta pasta.</p>"
        ),
        "sizes": "Entropia cruzada de validação (tracejada) e de treino (contínua), suavizada "
        "em 10 épocas, eixo de épocas em escala log, como no tutorial.",
        "regularizers": "O modelo Large com regularização, ao lado do Tiny e do Large sem "
        "regularização.",
    },
}
