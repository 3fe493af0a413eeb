namespace Lguest.Native.Boot;

/// <summary>Where the initrd sits in guest-physical memory and the page-rounded size the guest is told.</summary>
public readonly record struct InitrdPlacement(ulong Address, ulong Size);
