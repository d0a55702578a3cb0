using TorchSharp;
using static TorchSharp.torch;

namespace OrganicScreen.Training;

/// <summary>
/// Tensor operations with a number operand, each with its <see cref="Scalar"/> held until libtorch has returned.
/// TorchSharp converts a number to a temporary Scalar whose native copy only its finalizer frees, and which nothing
/// references once its handle is passed on: a garbage collection during the native call may free it while libtorch
/// reads it ("INTERNAL ASSERT FAILED at c10/core/Scalar.h:279" in <c>square()</c>'s <c>pow</c>, in 2 of 2 test runs
/// while other tests collected garbage beside an FCNN training; TorchSharp pull requests #1434 and #1496). The same
/// operations, the same operand types, so the same numbers.
/// </summary>
internal static class HeldScalars
{
    /// <summary>x², as <c>Tensor.square()</c> computes it (<c>pow</c> with the integer 2).</summary>
    public static Tensor Squared(this Tensor x)
    {
        using var two = 2.ToScalar();
        return x.pow(two);
    }

    public static Tensor AtLeast(this Tensor x, int minimum)
    {
        using var held = minimum.ToScalar();
        return x.clamp_min(held);
    }

    public static Tensor AtLeast(this Tensor x, double minimum)
    {
        using var held = minimum.ToScalar();
        return x.clamp_min(held);
    }

    public static Tensor Above(this Tensor x, int threshold)
    {
        using var held = threshold.ToScalar();
        return x.gt(held);
    }
}
