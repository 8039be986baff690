"""A PyTorch CPU training loop on losscore: the loss and the optimizer are the only two changes.

A 64-128-10 MLP on a synthetic 10-class Gaussian problem, trained with
``losscore.torch.cross_entropy`` (fused value and gradient) and ``losscore.torch.optim.AdamW``
(one fused step per parameter group; biases without weight decay).

Run: python examples/torch_training.py
"""

import torch

import losscore.torch as lct  # instead of torch.nn.functional
from losscore.torch import optim  # instead of torch.optim

torch.manual_seed(0)
n_classes, dim = 10, 64
centers = torch.randn(n_classes, dim) * 0.5
y = torch.randint(n_classes, (6000,))
X = centers[y] + torch.randn(6000, dim)
X_train, y_train, X_val, y_val = X[:5000], y[:5000], X[5000:], y[5000:]

model = torch.nn.Sequential(
    torch.nn.Linear(dim, 128), torch.nn.ReLU(), torch.nn.Linear(128, n_classes)
)
decay = [p for name, p in model.named_parameters() if name.endswith("weight")]
no_decay = [p for name, p in model.named_parameters() if name.endswith("bias")]
opt = optim.AdamW(
    [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, weight_decay=1e-2
)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)  # torch schedulers work as-is

for epoch in range(10):
    model.train()
    for idx in torch.randperm(len(X_train)).split(256):
        opt.zero_grad()
        loss = lct.cross_entropy(model(X_train[idx]), y_train[idx], label_smoothing=0.05)
        loss.backward()
        opt.step()
    sched.step()
    model.eval()
    with torch.no_grad():
        logits = model(X_val)
        val_loss = lct.cross_entropy(logits, y_val).item()
        accuracy = (logits.argmax(dim=1) == y_val).float().mean().item()
    print(
        f"epoch {epoch + 1:2d}  train loss {loss.item():.4f}  val loss {val_loss:.4f}  "
        f"val accuracy {accuracy:.3f}"
    )
