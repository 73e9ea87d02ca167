"""Continue a run that train.py checkpointed: restore the latest checkpoint and train on.

Run: python resume.py --steps 100
"""

import argparse

import tensorflow as tf

from ckptlint.harness import Setup
from train import CHECKPOINT_DIR, Trainer, make_batch


class ResumedTrainer(Trainer):
    def restore(self, directory=CHECKPOINT_DIR):
        ckpt = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer, step=self.step)
        return ckpt.restore(tf.train.latest_checkpoint(directory))


def make_setup():
    trainer = ResumedTrainer()
    return Setup(model=trainer.model, optimizer=trainer.optimizer, train_step=trainer.train_step,
                 batch=make_batch, state={"step": trainer.step}, save=trainer.save, restore=trainer.restore)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    trainer = ResumedTrainer()
    trainer.restore()
    start = int(trainer.step.numpy())
    for step in range(start, start + args.steps):
        loss = trainer.train_step(make_batch(step))
        if step % 20 == 0:
            trainer.save()
            print(f"step {step} loss {float(loss):.4f}")


if __name__ == "__main__":
    main()
