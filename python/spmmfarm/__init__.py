"""spmmfarm: deploy spmmfarm's tuned sparse kernels.

    import spmmfarm.torch
    spmmfarm.torch.sparsify(model, "model.bundle")   # nn.Linear -> tuned SpMM

spmmfarm.bundle reads a bundle's manifest (pure Python); spmmfarm.runtime
finds and loads libspmmfarm-rt; spmmfarm.torch (needs PyTorch) replaces a
model's layers. docs/DEPLOY.md in the spmmfarm repository.
"""
__version__ = "0.1.0"
