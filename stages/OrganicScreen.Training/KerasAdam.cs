using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// Adam with Keras' update rule, p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε), and the L2 penalty folded into the
/// kernels' gradients (∂/∂w of λ·Σw² is 2λw). Folding it in is mathematically the same as adding λ·Σw² to the
/// loss before backward, but avoids a reduction and its backward over every kernel on every step.
/// On CPU the whole update is one fused, vectorised pass per parameter (read p, g, m, v once; write p, m, v and
/// clear g), which is ~3× cheaper than the nine separate torch ops and matters because the L2 gradient makes
/// every kernel row dense: with ~80 small steps per epoch the optimiser would otherwise rival the matmuls.
/// </summary>
internal sealed class KerasAdam : IDisposable
{
    readonly IReadOnlyList<Tensor> _parameters;
    readonly bool[] _isKernel;
    readonly List<Tensor> _m = [];
    readonly List<Tensor> _v = [];
    readonly double _beta1, _beta2, _epsilon, _l2;
    readonly bool _fused;
    readonly int _threads;
    long _step;

    public KerasAdam(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> kernels, TrainingSettings settings, bool? fused = null)
    {
        _parameters = parameters;
        _isKernel = parameters.Select(p => kernels.Any(k => ReferenceEquals(k, p))).ToArray();
        foreach (var p in parameters)
        {
            _m.Add(zeros_like(p).requires_grad_(false));
            _v.Add(zeros_like(p).requires_grad_(false));
        }
        _beta1 = settings.AdamBeta1;
        _beta2 = settings.AdamBeta2;
        _epsilon = settings.AdamEpsilon;
        _l2 = settings.L2;
        _fused = fused ?? parameters.All(p => p.device_type == DeviceType.CPU);
        _threads = Math.Max(1, torch.get_num_threads());
    }

    public void Step(double learningRate)
    {
        _step++;
        var alpha = learningRate * Math.Sqrt(1 - Math.Pow(_beta2, _step)) / (1 - Math.Pow(_beta1, _step));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        for (var i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            var g = p.grad ?? throw new InvalidOperationException("Parameter without gradient: backward() was not run.");
            var l2Gradient = _isKernel[i] ? 2 * _l2 : 0.0;
            if (_fused) FusedStep(p, g, _m[i], _v[i], alpha, l2Gradient);
            else
            {
                if (l2Gradient > 0) g.add_(p, alpha: l2Gradient);
                _m[i].mul_(_beta1).add_(g, alpha: 1 - _beta1);
                _v[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
                var denominator = _v[i].sqrt().add_(_epsilon);
                p.addcdiv_(_m[i], denominator, value: -alpha);
                g.zero_();
            }
        }
    }

    unsafe void FusedStep(Tensor p, Tensor g, Tensor m, Tensor v, double alpha, double l2Gradient)
    {
        if (!p.is_contiguous() || !g.is_contiguous()) throw new InvalidOperationException("Fused Adam needs contiguous tensors.");
        var n = checked((int)p.numel());
        fixed (byte* pp = p.bytes, gp = g.bytes, mp = m.bytes, vp = v.bytes)
        {
            var arguments = new FusedArguments((float*)pp, (float*)gp, (float*)mp, (float*)vp, (float)_beta1, (float)_beta2,
                (float)alpha, (float)_epsilon, (float)l2Gradient);
            // Chunks are a fixed size, so every element sees the same arithmetic whatever the thread count.
            const int chunk = 1 << 16;
            var chunks = (n + chunk - 1) / chunk;
            if (chunks == 1 || _threads == 1)
                arguments.Run(0, n);
            else
                Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = _threads },
                    c => arguments.Run(c * chunk, Math.Min(n, (c + 1) * chunk)));
        }
    }

    readonly unsafe struct FusedArguments(float* p, float* g, float* m, float* v, float beta1, float beta2, float alpha, float epsilon, float l2)
    {
        public void Run(int from, int to)
        {
            var i = from;
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(beta1);
                var c1 = Vector256.Create(1 - beta1);
                var b2 = Vector256.Create(beta2);
                var c2 = Vector256.Create(1 - beta2);
                var a = Vector256.Create(alpha);
                var e = Vector256.Create(epsilon);
                var l = Vector256.Create(l2);
                for (; i <= to - Vector256<float>.Count; i += Vector256<float>.Count)
                {
                    var pv = Vector256.Load(p + i);
                    var gv = Vector256.Load(g + i) + l * pv;
                    var mv = b1 * Vector256.Load(m + i) + c1 * gv;
                    var vv = b2 * Vector256.Load(v + i) + c2 * (gv * gv);
                    mv.Store(m + i);
                    vv.Store(v + i);
                    (pv - a * mv / (Vector256.Sqrt(vv) + e)).Store(p + i);
                    Vector256<float>.Zero.Store(g + i);
                }
            }
            for (; i < to; i++)
            {
                var gi = g[i] + l2 * p[i];
                var mi = m[i] = beta1 * m[i] + (1 - beta1) * gi;
                var vi = v[i] = beta2 * v[i] + (1 - beta2) * (gi * gi);
                p[i] -= alpha * mi / (MathF.Sqrt(vi) + epsilon);
                g[i] = 0;
            }
        }
    }

    public void Dispose()
    {
        foreach (var t in _m.Concat(_v)) t.Dispose();
    }
}
