"""A jitted JAX training step whose loss is losscore's (closed-form gradient via a host callback).

Softmax regression plus a hidden layer on a synthetic 10-class Gaussian problem; the whole
update (forward, ``losscore.jax.cross_entropy``, backward, SGD with momentum) is one
``jax.jit``-compiled function. ``jax.vmap`` gives the per-example losses for free.

Run: python examples/jax_training.py
"""

import jax
import jax.numpy as jnp

import losscore.jax as lcj

key = jax.random.PRNGKey(0)
k_centers, k_labels, k_noise, k_w1, k_w2 = jax.random.split(key, 5)
n_classes, dim, hidden = 10, 64, 128
centers = jax.random.normal(k_centers, (n_classes, dim)) * 0.5
y = jax.random.randint(k_labels, (6000,), 0, n_classes)
X = centers[y] + jax.random.normal(k_noise, (6000, dim))
X_train, y_train, X_val, y_val = X[:5000], y[:5000], X[5000:], y[5000:]

params = {
    "w1": jax.random.normal(k_w1, (dim, hidden)) * (2 / dim) ** 0.5,
    "b1": jnp.zeros(hidden),
    "w2": jax.random.normal(k_w2, (hidden, n_classes)) * (1 / hidden) ** 0.5,
    "b2": jnp.zeros(n_classes),
}


def logits_of(params, x):
    h = jax.nn.relu(x @ params["w1"] + params["b1"])
    return h @ params["w2"] + params["b2"]


def loss_of(params, x, labels):
    return lcj.cross_entropy(logits_of(params, x), labels, label_smoothing=0.05)


@jax.jit
def train_step(params, velocity, x, labels):
    loss, grads = jax.value_and_grad(loss_of)(params, x, labels)
    velocity = jax.tree.map(lambda v, g: 0.9 * v + g, velocity, grads)
    params = jax.tree.map(lambda p, v: p - 0.05 * v, params, velocity)
    return params, velocity, loss


velocity = jax.tree.map(jnp.zeros_like, params)
for epoch in range(5):
    perm = jax.random.permutation(jax.random.PRNGKey(epoch), len(X_train))
    for start in range(0, len(X_train), 250):
        idx = perm[start : start + 250]
        params, velocity, loss = train_step(params, velocity, X_train[idx], y_train[idx])
    val_logits = logits_of(params, X_val)
    val_loss = lcj.cross_entropy(val_logits, y_val)
    accuracy = jnp.mean(jnp.argmax(val_logits, axis=1) == y_val)
    print(
        f"epoch {epoch + 1:2d}  train loss {float(loss):.4f}  val loss {float(val_loss):.4f}  "
        f"val accuracy {float(accuracy):.3f}"
    )

# Per-example losses of the first five validation points, through vmap.
one_loss = jax.vmap(lambda x, t: lcj.cross_entropy(logits_of(params, x), t))
per_example = one_loss(X_val[:5], y_val[:5])
print("per-example losses:", [round(float(v), 4) for v in per_example])
