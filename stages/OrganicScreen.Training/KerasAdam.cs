using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// Adam with Keras' update rule, p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + ε), and the L2 penalty folded into the
/// kernels' gradients (∂/∂w of λ·Σw² is 2λw). Folding it in is mathematically the same as adding λ·Σw² to the
/// loss before backward, but avoids a reduction and its backward over every kernel on every step.
/// </summary>
internal sealed class KerasAdam : IDisposable
{
    readonly IReadOnlyList<Tensor> _parameters;
    readonly bool[] _isKernel;
    readonly List<Tensor> _m = [];
    readonly List<Tensor> _v = [];
    readonly double _beta1, _beta2, _epsilon, _l2;
    long _step;

    public KerasAdam(IReadOnlyList<Tensor> parameters, IReadOnlyList<Tensor> kernels, TrainingSettings settings)
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
            if (_isKernel[i] && _l2 > 0) g.add_(p, alpha: 2 * _l2);
            _m[i].mul_(_beta1).add_(g, alpha: 1 - _beta1);
            _v[i].mul_(_beta2).addcmul_(g, g, value: 1 - _beta2);
            var denominator = _v[i].sqrt().add_(_epsilon);
            p.addcdiv_(_m[i], denominator, value: -alpha);
            g.zero_();
        }
    }

    public void Dispose()
    {
        foreach (var t in _m.Concat(_v)) t.Dispose();
    }
}
