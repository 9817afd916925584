export {
  ProductService,
  requireProduct,
  regimes,
  memberStates,
  ownershipStages,
  type Product,
  type ProductInput,
  type Ownership,
  type Regime,
  type MemberState,
  type OwnershipStage,
} from './service.ts';
export { productRoutes, MemberStateSchema } from './routes.ts';
export { productCommands } from './commands.ts';
