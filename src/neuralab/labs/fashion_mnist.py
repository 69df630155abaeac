"""Narrative of the fashion-mnist lab (seeds/fashion-mnist-notebook.md), English and Portuguese.

In Portuguese also the texts of ``fashion_mnist.toml`` that reports show, by the keys of
:func:`neuralab.labs.registry.lab_file_texts` (their English is the lab file's own).
"""

from __future__ import annotations

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "intro": (
            "<p>A first Keras classifier, following the notebook (after Géron's <i>Hands-On "
            "Machine Learning</i>): 28x28 grayscale images of ten kinds of clothing, the first "
            "1,000 training images held out for validation, pixels divided by 255, a "
            "<code>Flatten → Dense(300, relu) → Dense(100, relu) → Dense(10, softmax)</code> "
            "network (266,610 parameters) trained with SGD and sparse categorical "
            "cross-entropy for 30 epochs. Here the test images are scaled like the others: "
            "the notebook divided only the training and validation images by 255, which is "
            "why its test loss was 72.5 and its test accuracy 83.6% instead of about 89%.</p>"
        ),
        "mlp": "The history plot is the notebook's (every curve on one axes, grid, y from 0 "
        "to 1). Below it: the test evaluation, the first test images with their predicted "
        "class, the images the model got most confidently wrong, the layer table and the "
        "first Dense layer's weights, summarised instead of printed.",
    },
    "pt": {
        # The lab file's texts (their English is in fashion_mnist.toml).
        "title": "Fashion-MNIST: um primeiro classificador Keras (MLP)",
        "description": "O notebook do Fashion-MNIST: Flatten, Dense(300), Dense(100), "
        "Dense(10, softmax), SGD, 30 épocas.",
        "mlp.title": "Flatten -> Dense(300, relu) -> Dense(100, relu) -> Dense(10, softmax), SGD",
        "mlp.reference.note": "depois de 30 épocas; a acurácia de teste de 83,6% (perda 72,5) do "
        "notebook veio de um conjunto de teste sem normalização",
        "mlp.when.digits.reference.note": "a expectativa da issue para os dígitos que substituem "
        "os dados; os números do capítulo são do Fashion-MNIST",
        # The narrative.
        "intro": (
            "<p>Um primeiro classificador Keras, como no notebook (baseado no livro de Géron, "
            "<i>Hands-On Machine Learning</i>): imagens 28x28 em tons de cinza de dez tipos de "
            "roupa, as primeiras 1.000 imagens de treino separadas para validação, pixels "
            "divididos por 255, uma rede <code>Flatten → Dense(300, relu) → Dense(100, relu) → "
            "Dense(10, softmax)</code> (266.610 parâmetros) treinada com SGD e entropia cruzada "
            "categórica esparsa por 30 épocas. Aqui as imagens de teste são normalizadas como "
            "as outras: o notebook dividiu por 255 só as de treino e validação, e por isso sua "
            "perda de teste foi 72,5 e sua acurácia de teste 83,6% em vez de cerca de 89%.</p>"
        ),
        "mlp": "O gráfico do histórico é o do notebook (todas as curvas em um só eixo, grade, "
        "y de 0 a 1). Abaixo: a avaliação no teste, as primeiras imagens de teste com a classe "
        "prevista, as imagens em que o modelo errou com mais confiança, a tabela de camadas e "
        "os pesos da primeira camada Dense, resumidos em vez de impressos.",
    },
}
