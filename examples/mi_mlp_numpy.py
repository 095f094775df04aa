"""Un MLP escrito desde cero con NumPy, sin autograd: el modelo de configs/mi_mlp_numpy.yaml.

El flujo de trabajo lo entrena con `backend: numpy` y sus propios optimizadores (SGD, Adam):
- `parameters()` devuelve los objetos que se aprenden, cada uno con `.data` y `.grad`;
- `forward(x)` recibe un lote de imágenes (B, C, H, W) y devuelve (B, n_classes) logits;
- `backward(g)` recibe g = dL/dlogits y suma en cada `.grad` su gradiente (el flujo de trabajo
  los pone en cero antes de cada lote);
- antes de entrenar, compara `backward` con diferencias finitas de la entropía cruzada.
En una GPU los `.data` y `.grad` son arreglos de CuPy, y las funciones de NumPy aplicadas a
ellos (np.zeros_like, np.exp, ...) trabajan con CuPy: el mismo código sirve para las dos.
"""

import numpy as np


class Parametro:
    """Un arreglo que se aprende y su gradiente, de la misma forma."""

    def __init__(self, data):
        self.data = data
        self.grad = np.zeros_like(data)


class Lineal:
    """y = x W + b, con W de (entrada, salida) inicializada como propone He."""

    def __init__(self, entrada, salida, rng):
        w = rng.normal(0.0, np.sqrt(2.0 / entrada), size=(entrada, salida))
        self.W = Parametro(w.astype(np.float32))
        self.b = Parametro(np.zeros(salida, dtype=np.float32))

    def forward(self, x):
        self.x = x  # (B, entrada): backward la necesita
        return x @ self.W.data + self.b.data  # (B, salida)

    def backward(self, g):  # g = dL/dy, (B, salida)
        self.W.grad += self.x.T @ g  # (entrada, salida)
        self.b.grad += g.sum(axis=0)  # (salida,)
        return g @ self.W.data.T  # dL/dx, (B, entrada)


class ReLU:
    """max(x, 0); su derivada es 1 donde x > 0."""

    def forward(self, x):
        self.activa = x > 0
        return x * self.activa

    def backward(self, g):
        return g * self.activa


class MiMLP:
    """Entrada aplanada, dos capas ocultas de n1 y n2 neuronas con ReLU, salida lineal."""

    def __init__(self, n1=128, n2=64, input_shape=(1, 28, 28), n_classes=10, seed=0):
        rng = np.random.default_rng(seed)
        dims = [int(np.prod(input_shape)), n1, n2, n_classes]
        self.capas = []
        for entrada, salida in zip(dims[:-1], dims[1:]):
            self.capas += [Lineal(entrada, salida, rng), ReLU()]
        self.capas.pop()  # ninguna ReLU después de la capa de salida

    def forward(self, x):
        x = x.reshape(len(x), -1)  # (B, C, H, W) -> (B, C*H*W)
        for capa in self.capas:
            x = capa.forward(x)
        return x  # (B, n_classes)

    def backward(self, g):
        for capa in reversed(self.capas):
            g = capa.backward(g)

    def parameters(self):
        return [p for capa in self.capas if isinstance(capa, Lineal) for p in (capa.W, capa.b)]
