namespace Lguest.Host.Tests;

/// <summary>A fact that needs root (chroot, setresuid); elsewhere it is skipped with that reason, not passed.</summary>
internal sealed class SkippableAsRootFactAttribute : FactAttribute
{
    public SkippableAsRootFactAttribute()
    {
        if (Environment.UserName != "root")
        {
            Skip = "needs root: chroot and dropping to another user are privileged";
        }
    }
}

/// <summary>As <see cref="SkippableAsRootFactAttribute"/>, for a theory.</summary>
internal sealed class SkippableAsRootTheoryAttribute : TheoryAttribute
{
    public SkippableAsRootTheoryAttribute()
    {
        if (Environment.UserName != "root")
        {
            Skip = "needs root: chroot and dropping to another user are privileged";
        }
    }
}
