import numpy as np
import torch

from labelers.corpus.chunking import plan_context_chunks, stitch
from labelers.corpus.frames import num_frames


def test_context_chunks_cover_every_frame_once_and_stitch_in_torch():
    hop, n = 320, 16000 * 7 + 123
    total = num_frames(n, 50)
    chunks = plan_context_chunks(n, hop, chunk_frames=50, context_frames=10)
    assert len(chunks) == -(-total // 50)
    cores = [(c.start // hop + c.keep_from, c.start // hop + c.keep_to) for c in chunks]
    assert cores[0][0] == 0 and cores[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(cores, cores[1:]))
    assert all(0 <= c.start < c.end <= n for c in chunks)
    # a piece gives the global frame index of each of its frames: stitching must give 0..total-1
    pieces = [torch.arange(c.start // hop, c.start // hop + c.keep_to)[:, None].float() for c in chunks]
    out = stitch(pieces, chunks, hop, total)
    assert isinstance(out, torch.Tensor) and out[:, 0].tolist() == list(range(total))
    assert plan_context_chunks(399, hop, 50, 10) == []


def test_stitch_repeats_the_last_frame_when_the_encoder_gives_one_short():
    out = stitch([np.arange(4.0)[:, None]], plan_context_chunks(16000, 320, 100, 0), 320, 6)
    assert out[:, 0].tolist() == [0, 1, 2, 3, 3, 3]
