using Lguest.Native.Interop;

namespace Lguest.Native.Tests.Interop;

public sealed class IoVectorsTests
{
    [Fact]
    public void Consume_walks_across_vectors_and_returns_the_rest_from_the_first_with_bytes()
    {
        IoVector[] v = [new(1000, 10), new(2000, 20), new(3000, 30)];

        Span<IoVector> rest = IoVectors.Consume(v, 15);

        Assert.Equal(2, rest.Length);
        Assert.Equal(new IoVector(1010, 0), v[0]);
        Assert.Equal(new IoVector(2005, 15), v[1]);
        Assert.Equal(new IoVector(3000, 30), v[2]);
        Assert.Equal(45UL, IoVectors.TotalLength(rest));
    }

    [Fact]
    public void Consuming_exactly_to_a_boundary_skips_the_spent_vector()
    {
        IoVector[] v = [new(1000, 10), new(2000, 20)];

        Span<IoVector> rest = IoVectors.Consume(v, 10);

        Assert.Equal(1, rest.Length);
        Assert.Equal(new IoVector(2000, 20), rest[0]);
        Assert.True(IoVectors.Consume(rest, 20).IsEmpty);
    }

    [Fact]
    public void Consume_skips_leading_empty_vectors_even_for_zero_bytes()
    {
        IoVector[] v = [new(1, 0), new(2, 0), new(3, 5)];

        Span<IoVector> rest = IoVectors.Consume(v, 0);

        Assert.Equal(1, rest.Length);
        Assert.Equal(new IoVector(3, 5), rest[0]);
    }

    [Fact]
    public void Consuming_more_than_there_is_is_refused()
    {
        IoVector[] v = [new(1000, 10), new(2000, 20)];

        Assert.Throws<ArgumentOutOfRangeException>(() => IoVectors.Consume(v, 31));
    }
}
