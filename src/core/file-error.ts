/**
 * Why a file or directory could not be used, in words a user acts on rather than an errno code: "ENOENT" tells
 * an analyst little, "it does not exist" tells them to check the path.
 */
export function fileSystemProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EEXIST':
      return 'a file, not a directory, has that name';
    case 'EACCES':
    case 'EPERM':
      return 'this user lacks the permission';
    case 'ENOTDIR':
      return 'a part of its path is a file, not a directory';
    case 'ELOOP':
      return 'its path loops through symbolic links';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    default:
      return code === undefined
        ? String((error as Error | undefined)?.message ?? error)
        : `the system refused (${code})`;
  }
}
