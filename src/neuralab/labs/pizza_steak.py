"""Narrative of the pizza-steak lab (seeds/cnn-pizza-steak-chapter.md), English and Portuguese.

In Portuguese also the texts of ``pizza_steak.toml`` that reports show, by the keys of
:func:`neuralab.labs.registry.lab_file_texts` (their English is the lab file's own).
"""

from __future__ import annotations

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "intro": (
            "<p>Binary image classification, pizza or steak, following the chapter: photos "
            "resized to 224x224 and rescaled by 1/255 (a <code>Rescaling</code> layer in front of "
            "each model), batches of 32, Adam and binary cross-entropy for 5 epochs, validated on "
            "the test folder as in the chapter. The creators of the data reported 50.76% with a "
            "random forest: that is the baseline line on the accuracy plots. TinyVGG (31,101 "
            "parameters) beats dense networks with 20x and 500x more parameters; max pooling "
            "narrows the gap between training and validation; data augmentation (random "
            "rotations, shifts, zooms, flips on the training images only) narrows it further.</p>"
        ),
        "model_1": "TinyVGG, the CNN Explainer's network: two blocks of two 3x3 convolutions and "
        "a 2x2 max pooling. The chapter got about 81%.",
        "model_2": "The circles chapter's 4-4-1 network on the 150,528 pixels: 602,141 "
        "parameters, and worse than TinyVGG.",
        "model_3": "Bigger and deeper (100-100-100-1, 15,073,201 parameters): still no match for "
        "a small CNN.",
        "model_4": "Three convolutions without pooling: it fits the training images well and "
        "overfits (the validation loss rises).",
        "model_5": "A max pooling after each convolution: fewer parameters (8,861), training "
        "and validation curves closer together.",
        "model_6": "model_5 trained on augmented images. Note that ImageDataGenerator's "
        "<code>shear_range</code> is in degrees, so the chapter's 0.2 is a 0.2-degree shear: "
        "converted faithfully, it does almost nothing.",
        "model_7": "TinyVGG with the same augmentation.",
        "augmentation": "Same architecture, with and without augmentation: validation curves.",
    },
    "pt": {
        # The lab file's texts (their English is in pizza_steak.toml).
        "title": "Redes convolucionais: pizza ou carne?",
        "description": "O capítulo de CNNs: TinyVGG contra redes densas, max pooling, aumento de "
        "dados.",
        "defaults.report.baseline_label": "random forest (50,76%)",
        "model_1.title": "TinyVGG (a rede do CNN Explainer)",
        "model_1.reference.note": "cerca de 81% de acurácia de validação depois de 5 épocas",
        "model_2.title": "Dense 4-4-1 sobre os pixels (a rede do Playground)",
        "model_3.title": "Dense 100-100-100-1 sobre os pixels",
        "model_4.title": "Três camadas Conv2D, sem pooling (a CNN de base)",
        "model_5.title": "Conv2D + MaxPool2D x 3",
        "model_6.title": "model_5 com aumento de dados",
        "model_7.title": "TinyVGG com aumento de dados",
        "augmentation.title": "Aumento de dados: model_5 (sem) vs model_6 (com)",
        "all_models.title": "Todos os modelos",
        # The narrative.
        "intro": (
            "<p>Classificação binária de imagens, pizza ou carne, como no capítulo: fotos "
            "redimensionadas para 224x224 e normalizadas por 1/255 (uma camada "
            "<code>Rescaling</code> na frente de cada modelo), lotes de 32, Adam e entropia "
            "cruzada binária por 5 épocas, validando na pasta de teste como no capítulo. Os "
            "criadores dos dados obtiveram 50,76% com uma random forest: é a linha de base nos "
            "gráficos de acurácia. A TinyVGG (31.101 parâmetros) supera redes densas com 20x e "
            "500x mais parâmetros; o max pooling aproxima treino e validação; o aumento de dados "
            "(rotações, deslocamentos, zoom e espelhamentos aleatórios só nas imagens de "
            "treino) aproxima ainda mais.</p>"
        ),
        "model_1": "TinyVGG, a rede do CNN Explainer: dois blocos de duas convoluções 3x3 e um "
        "max pooling 2x2. O capítulo obteve cerca de 81%.",
        "model_2": "A rede 4-4-1 do capítulo dos círculos sobre os 150.528 pixels: 602.141 "
        "parâmetros, e pior que a TinyVGG.",
        "model_3": "Maior e mais profunda (100-100-100-1, 15.073.201 parâmetros): ainda não "
        "alcança uma CNN pequena.",
        "model_4": "Três convoluções sem pooling: ajusta bem o treino e sofre overfitting (a "
        "perda de validação sobe).",
        "model_5": "Um max pooling depois de cada convolução: menos parâmetros (8.861), curvas "
        "de treino e validação mais próximas.",
        "model_6": "O model_5 treinado com imagens aumentadas. O <code>shear_range</code> do "
        "ImageDataGenerator é em graus, então o 0,2 do capítulo é um cisalhamento de 0,2 "
        "grau: convertido fielmente, quase não faz nada.",
        "model_7": "A TinyVGG com o mesmo aumento de dados.",
        "augmentation": "Mesma arquitetura, com e sem aumento de dados: curvas de validação.",
    },
}
