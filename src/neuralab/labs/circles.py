"""Narrative of the circles lab (seeds/circles-chapter.md), in English and Portuguese.

``NARRATIVE[lang]`` holds the narrative (``intro``, a paragraph per experiment, ``lr_test``) in
every language and, in Portuguese, the texts of ``circles.toml`` that reports show (titles,
description, reference notes) under the keys of :func:`neuralab.labs.registry.lab_file_texts`;
their English is the lab file's own.
"""

from __future__ import annotations

NARRATIVE: dict[str, dict[str, str]] = {
    "en": {
        "intro": (
            "<p>Binary classification of <code>make_circles(1000, noise=0.03, "
            "random_state=42)</code>: can a network tell the inner circle from the outer one? "
            "Following the chapter, we start from a single Dense unit and change one thing at a "
            "time (layers, optimizer, activation, learning rate) until the model separates the "
            "circles. Every model trains on the first 800 points and is tested on the last 200; "
            "the chapter trained models 1-7 on all 1000 points, so its numbers for them are "
            "training accuracies.</p>"
        ),
        "model_1": "One Dense unit with SGD: 5 epochs, then 200 more. A straight line cannot "
        "separate circles, and without a sigmoid the loss cannot even use the output as a "
        "probability: about 50%, i.e. guessing.",
        "model_2": "A second Dense layer adds nothing: two linear layers are still one linear "
        "function.",
        "model_3": "More units (100, 10) and Adam, still all linear: still a straight line.",
        "model_4": "An explicit linear activation changes nothing; the chapter got slightly "
        "worse (48.6%).",
        "model_5": "One ReLU unit adds a bend, but one unit is too little, and the output is "
        "still linear.",
        "model_6": "The TensorFlow Playground network (4-4 ReLU), but with a linear output: "
        "the loss gets raw values instead of probabilities and the model stays at 50%.",
        "model_7": "The same network with a sigmoid output finally separates the circles "
        "(non-linear hidden layers + a probability output).",
        "model_8": "Now with a train/test split and a 10x larger learning rate (0.01): fewer "
        "epochs (25) and near-perfect test accuracy.",
        "model_9": "The learning-rate range test: the rate grows as 1e-4 * 10**(epoch/20) over "
        "100 epochs, so the loss curve against the rate shows where learning is fastest.",
        "model_10": "model_8 trained with the rate suggested by the range test, for 20 epochs.",
        "lr_test": "The loss falls fastest a little before its minimum; the chapter's rule of "
        "thumb takes the rate 10x below the bottom of the curve ('minimum/10'), and read "
        "0.01-0.02 off its plot, using 0.02. The suggestions are marked on the plot; model_10 "
        "uses the 'midpoint': halfway (on the log scale) from the steepest descent to the "
        "bottom of the curve, a rate where the loss is still falling. Here 'minimum/10' is "
        "too timid for 20 epochs, and 'valley' (fastai's rule) starts from the slow early "
        "decline of this cumulative, per-epoch curve. The suggestions read the loss smoothed "
        "over 2 epochs (the solid line): near divergence single epochs bounce.",
    },
    "pt": {
        # The lab file's texts (their English is in circles.toml).
        "title": "Classificação com redes neurais: make_circles",
        "description": "O capítulo dos círculos: de um modelo que chuta a um que separa os "
        "círculos.",
        "model_1.title": "Dense(1), SGD, 5 + 200 épocas",
        "model_1.reference.note": "5 épocas, depois mais 200",
        "model_2.title": "Dense(1) x 2, SGD",
        "model_3.title": "Dense(100), Dense(10), Dense(1), Adam",
        "model_3.reference.note": "o input_shape=(None, 1) do capítulo não corresponde às 2 "
        "variáveis de entrada; a forma da entrada vem dos dados",
        "model_4.title": "Dense(1, linear), Dense(1), Adam(0.001)",
        "model_5.title": "Dense(1, relu), Dense(1), Adam",
        "model_6.title": "Dense(4, relu) x 2, Dense(1), Adam(0.001)",
        "model_7.title": "Dense(4, relu) x 2, Dense(1, sigmoid), Adam",
        "model_8.title": "model_7 com Adam(0.01), 25 épocas",
        "model_9.title": "Teste de faixa da taxa de aprendizado: 1e-4 * 10**(epoch/20)",
        "model_10.title": "model_8 com a taxa de aprendizado sugerida, 20 épocas",
        "model_10.reference.note": "o capítulo leu 0,01-0,02 no gráfico e usou 0,02",
        # The narrative.
        "intro": (
            "<p>Classificação binária de <code>make_circles(1000, noise=0.03, "
            "random_state=42)</code>: uma rede consegue separar o círculo interno do externo? "
            "Como no capítulo, começamos com uma única unidade Dense e mudamos uma coisa por vez "
            "(camadas, otimizador, ativação, taxa de aprendizado) até o modelo separar os "
            "círculos. Todos os modelos treinam com os primeiros 800 pontos e são testados nos "
            "últimos 200; o capítulo treinou os modelos 1-7 com os 1000 pontos, então os números "
            "dele para esses modelos são acurácias de treino.</p>"
        ),
        "model_1": "Uma unidade Dense com SGD: 5 épocas e depois mais 200. Uma reta não separa "
        "círculos, e sem sigmoid a perda não consegue usar a saída como probabilidade: cerca "
        "de 50%, ou seja, adivinhando.",
        "model_2": "Uma segunda camada Dense não ajuda: duas camadas lineares continuam sendo "
        "uma função linear.",
        "model_3": "Mais neurônios (100, 10) e Adam, ainda tudo linear: continua uma reta.",
        "model_4": "Uma ativação linear explícita não muda nada; no capítulo ficou um pouco "
        "pior (48,6%).",
        "model_5": "Uma unidade ReLU adiciona uma dobra, mas uma unidade é pouco e a saída "
        "continua linear.",
        "model_6": "A rede do TensorFlow Playground (4-4 ReLU), mas com saída linear: a perda "
        "recebe valores brutos em vez de probabilidades e o modelo fica em 50%.",
        "model_7": "A mesma rede com saída sigmoid finalmente separa os círculos (camadas "
        "ocultas não lineares + saída em probabilidade).",
        "model_8": "Agora com divisão treino/teste e taxa de aprendizado 10x maior (0,01): "
        "menos épocas (25) e acurácia de teste quase perfeita.",
        "model_9": "O teste de faixa da taxa de aprendizado: a taxa cresce como "
        "1e-4 * 10**(epoch/20) em 100 épocas, e a curva da perda contra a taxa mostra onde o "
        "aprendizado é mais rápido.",
        "model_10": "O model_8 treinado com a taxa sugerida pelo teste, por 20 épocas.",
        "lr_test": "A perda cai mais rápido um pouco antes do mínimo; a regra do capítulo usa a "
        "taxa 10x menor que a parte inferior da curva ('mínimo/10') e leu 0,01-0,02 no "
        "gráfico, usando 0,02. As sugestões estão marcadas no gráfico; o model_10 usa o "
        "'ponto médio': a meio caminho (em escala log) entre a maior inclinação e o fundo da "
        "curva, uma taxa em que a perda ainda está caindo. Aqui 'mínimo/10' é tímida demais "
        "para 20 épocas, e o 'vale' (regra do fastai) parte da queda lenta do início desta "
        "curva acumulada, por época. As sugestões leem a perda suavizada em 2 épocas (a "
        "linha contínua): perto da divergência, épocas isoladas oscilam.",
    },
}
