export * from './lib/register-member';
export * from './lib/register-in-background';
