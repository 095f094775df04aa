"""Mi red convolucional para FashionMNIST: el modelo que entrena configs/mi_cnn.yaml.

El flujo de trabajo construye la clase con los valores de `base:` (y de cada variante de
`experiments:`) y le pasa además `input_shape` (C, H, W) y `n_classes`, porque el constructor
los nombra. `forward` recibe un lote de imágenes (B, C, H, W) normalizadas y devuelve
(B, n_classes) logits: la entropía cruzada se calcula afuera.
"""

from torch import nn


class MiCNN(nn.Module):
    """Dos bloques de convolución, ReLU y max-pooling, y una capa densa oculta."""

    def __init__(self, canales=16, densas=64, p=0.25, input_shape=(1, 28, 28), n_classes=10):
        super().__init__()
        c, h, w = input_shape
        self.bloques = nn.Sequential(
            nn.Conv2d(c, canales, kernel_size=3, padding=1),  # (B, canales, H, W)
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, canales, H/2, W/2)
            nn.Conv2d(canales, 2 * canales, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # (B, 2 canales, H/4, W/4)
        )
        self.clasificador = nn.Sequential(
            nn.Flatten(),  # (B, 2 canales * H/4 * W/4)
            nn.Dropout(p),
            nn.Linear(2 * canales * (h // 4) * (w // 4), densas),
            nn.ReLU(),
            nn.Linear(densas, n_classes),  # (B, n_classes)
        )

    def forward(self, x):
        return self.clasificador(self.bloques(x))
